"""Which files of a checkout Vercel turns into functions and static files.

The rules are Vercel's zero-config detection (@vercel/fs-detectors `detectBuilders`), checked
against real `vercel build` output by tests/test_router_parity.py:

- every `api/**/*.py` file is a Python function named by its path without `.py`, unless its
  path has a segment starting with `_` or `.` (those files are bundled, never served);
- a function at `api/orders/[id].py` gets a route that passes the segment as `?id=`;
- with a `public/` directory, exactly its files are the static files (without one Vercel would
  publish the whole project root, lib/ and db/ included: we refuse to run without it);
- files matched by .vercelignore are not uploaded at all.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from scripts.localvercel.globs import IgnoreRules, glob_match

# Never uploaded by the CLI, or local state that is not part of the project.
_ALWAYS_SKIPPED = frozenset({".git", ".vercel", "node_modules", ".venv", "__pycache__"})
# Extensions the other zero-config runtimes would turn into functions (Node, Go, Ruby).
_OTHER_RUNTIMES = (".js", ".mjs", ".ts", ".tsx", ".go", ".rb")


@dataclass(frozen=True, slots=True)
class ProjectFiles:
    """The files of one project that matter for routing, as relative posix paths."""

    root: Path
    api_files: tuple[str, ...]  # every file under api/, private ones included
    function_files: tuple[str, ...]  # the api/**/*.py files that become functions
    static_files: tuple[str, ...]  # relative to public/, as served

    @property
    def functions(self) -> frozenset[str]:
        """Function names as Vercel writes them: `api/orders/[id]` for api/orders/[id].py."""
        return frozenset(function_name(path) for path in self.function_files)


def function_name(file: str) -> str:
    return file[: -len(".py")]


def is_function_file(file: str) -> bool:
    """maybeGetApiBuilder: a .py file under api/ with no `_` or `.` segment."""
    if not file.startswith("api/") or not file.endswith(".py"):
        return False
    return "/_" not in file and "/." not in file and "/node_modules/" not in file


def _walk(root: Path, top: str, ignore: IgnoreRules) -> Iterator[str]:
    base = root / top
    if not base.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(base):
        relative_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in _ALWAYS_SKIPPED and not ignore.ignores(f"{relative_dir}/{name}", is_dir=True)
        )
        for name in sorted(filenames):
            relative = f"{relative_dir}/{name}"
            if not ignore.ignores(relative, is_dir=False):
                yield relative


def scan_project(root: Path) -> ProjectFiles:
    """The api/ and public/ files of the checkout at `root`, minus what .vercelignore drops."""
    ignore = IgnoreRules.from_file(root / ".vercelignore")
    api_files = tuple(_walk(root, "api", ignore))
    statics = tuple(path[len("public/") :] for path in _walk(root, "public", ignore))
    return ProjectFiles(
        root=root,
        api_files=api_files,
        function_files=tuple(path for path in api_files if is_function_file(path)),
        static_files=statics,
    )


def _defines_entrypoint(source: str) -> bool:
    """Whether a module defines a top-level `app` or `handler`, which @vercel/python requires."""
    for node in ast.parse(source).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name in {"app", "handler"}:
                return True
        elif isinstance(node, ast.ImportFrom | ast.Import) and any(
            (alias.asname or alias.name) in {"app", "handler"} for alias in node.names
        ):
            return True
        if any(isinstance(target, ast.Name) and target.id in {"app", "handler"} for target in targets):
            return True
    return False


def param_name(segment: str) -> str | None:
    """`[id]` for `[id].py` or `[id]`: the dynamic parameter a path segment declares."""
    stem = PurePosixPath(segment).stem if segment.endswith(".py") else segment
    return stem[1:-1] if stem.startswith("[") and stem.endswith("]") else None


def _conflicts(functions: tuple[str, ...]) -> list[str]:
    """The build errors fs-detectors raises for repeated or ambiguous dynamic segments."""
    problems: list[str] = []
    resolved: dict[str, str] = {}
    for file in functions:
        names = [name for name in map(param_name, file.split("/")) if name is not None]
        repeated = {name for name in names if names.count(name) > 1}
        if repeated:
            problems.append(f"{file}: the segment [{sorted(repeated)[0]}] occurs more than once")
        key = "/".join("1" if param_name(part) is not None else part for part in function_name(file).split("/"))
        if key in resolved:
            problems.append(f"{file} and {resolved[key]} serve the same paths")
        resolved[key] = file
    return problems


def validate_project(project: ProjectFiles, config: Mapping[str, Any]) -> list[str]:
    """Problems with the files themselves: what would fail the build, or be served wrongly."""
    problems: list[str] = []
    if not (project.root / "public").is_dir():
        problems.append(
            "no public/ directory: Vercel would publish the project root (lib/, db/, tests/) as static files"
        )
    for file in project.api_files:
        if file.endswith(_OTHER_RUNTIMES) and "/_" not in file:
            problems.append(f"{file} would become a non-Python function; this runtime only serves Python")
    for file in project.function_files:
        source = (project.root / file).read_text(encoding="utf-8")
        if not _defines_entrypoint(source):
            problems.append(f"{file} defines neither `app` nor `handler` at top level")
    problems.extend(_conflicts(project.function_files))

    functions = config.get("functions")
    if isinstance(functions, Mapping):
        for pattern in functions:
            if not any(glob_match(pattern, file) for file in project.function_files):
                problems.append(f"functions[{pattern!r}] matches no function file (the build would fail)")

    crons = config.get("crons")
    if isinstance(crons, list):
        names = project.functions
        for cron in crons:
            path = cron.get("path") if isinstance(cron, Mapping) else None
            if isinstance(path, str) and path.split("?")[0].lstrip("/") not in names:
                problems.append(f"cron path {path!r} is not a function file")
    return problems
