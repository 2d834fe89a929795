"""Build the project with the real Vercel CLI (offline) and check what would be deployed.

    python -m scripts.vercel_build_check

Prints one line per check and exits non-zero if any fails:

- vercel.json passes validate_vercel_config (and the project checks behind the local router);
- one function per non-underscore api/**/*.py file, each on python3.12, each with the memory
  and maxDuration of the first `functions` glob that matches it;
- every function bundles every file of lib/ and nothing from tests/, scripts/ or db/, and ships
  compiled bytecode for lib/ (VERCEL_PYTHON_COMPILEALL, set for production builds);
- the static output is exactly public/;
- the compiled routes put every SECURITY_HEADERS header on a function, a static file, an
  unknown /api path, an unknown page and a denied probe, and the local router decides those
  requests exactly as the compiled routes do;
- an /api path no function serves reaches a function with status 404 and `no-store` (which
  answers the JSON error shape), while an unknown page keeps the platform's own 404;
- the compiled crons equal vercel.json's and each cron path reaches a function;
- every function bundles every pinned requirement (none left to install at cold start);
- no function over the builder's 225 MiB standard bundle (sizes printed, largest marked).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lib.http.security_headers import SECURITY_HEADERS
from scripts.localvercel.asgi import local_router
from scripts.localvercel.build import ensure_build, load_function_sizes, project_files
from scripts.localvercel.config import load_vercel_json, validate_vercel_config
from scripts.localvercel.filesystem import FilesystemIndex
from scripts.localvercel.globs import first_match
from scripts.localvercel.interpreter import Router
from scripts.localvercel.project import function_name, is_function_file, scan_project, validate_project

ROOT = Path(__file__).resolve().parent.parent
# @vercel/python bundles everything up to 225 MiB (LAMBDA_SIZE_THRESHOLD_BYTES); past it, it moves
# packages out of the bundle and installs them from PyPI at every cold start.
MAX_FUNCTION_BYTES = 225 * 1024 * 1024
SAMPLE_REQUESTS = (
    ("function", "GET", "/api/health"),
    ("static file", "GET", "/robots.txt"),
    ("unknown /api path", "GET", "/api/does-not-exist"),
    ("unknown page", "GET", "/does-not-exist"),
    ("denied probe", "GET", "/.env"),
)


class Report:
    def __init__(self) -> None:
        self.failures = 0

    def check(self, name: str, problems: Sequence[str]) -> None:
        print(f"{'ok  ' if not problems else 'FAIL'} {name}")
        for problem in problems:
            print(f"       - {problem}")
        self.failures += bool(problems)


def compiled_router(output: Path) -> Router:
    routes = json.loads((output / "config.json").read_text())["routes"]
    return Router(routes, FilesystemIndex.from_output(output))


def _function_configs(output: Path) -> dict[str, dict[str, Any]]:
    return {
        path.parent.relative_to(output / "functions").as_posix().removesuffix(".func"): json.loads(path.read_text())
        for path in (output / "functions").rglob(".vc-config.json")
    }


def check_functions(report: Report, root: Path, config: dict[str, Any], files: list[str], output: Path) -> None:
    functions = _function_configs(output)
    expected = {function_name(file) for file in files if is_function_file(file)}
    problems = [f"missing function {name}" for name in sorted(expected - set(functions))]
    problems += [f"unexpected function {name}" for name in sorted(set(functions) - expected)]
    problems += [
        f"{name}: runtime {c.get('runtime')}" for name, c in functions.items() if c.get("runtime") != "python3.12"
    ]
    report.check("one python3.12 function per api/**/*.py file (none for _ files)", problems)

    globs = config.get("functions", {})
    problems = []
    for name, function in sorted(functions.items()):
        pattern = first_match(globs, f"{name}.py")
        wanted = globs.get(pattern, {}) if pattern else {}
        for key in ("memory", "maxDuration"):
            if key in wanted and function.get(key) != wanted[key]:
                problems.append(f"{name}: {key} {function.get(key)} but {pattern!r} says {wanted[key]}")
    report.check("memory and maxDuration come from the first matching `functions` glob", problems)

    lib = {file for file in files if file.startswith("lib/")}
    problems = []
    for name, function in sorted(functions.items()):
        bundled = set(function.get("filePathMap", {}))
        problems += [f"{name} lacks {file}" for file in sorted(lib - bundled)]
        problems += [
            f"{name} bundles {file}" for file in sorted(bundled) if file.startswith(("tests/", "scripts/", "db/"))
        ]
    report.check(f"every function bundles all {len(lib)} lib/ files and no tests/, scripts/, db/", problems)

    problems = []
    for name, function in sorted(functions.items()):
        bundled = set(function.get("filePathMap", {}))
        problems += [
            f"{name} has no bytecode for {file}"
            for file in sorted(lib)
            if file.endswith(".py") and _pyc_path(file) not in bundled
        ]
    report.check("every function ships compiled bytecode for lib/ (no compiling at cold start)", problems)

    pinned = pinned_requirements(root)
    report.check(
        f"every function bundles all {len(pinned)} pinned requirements (nothing installed at cold start)",
        unbundled_requirements(functions, pinned),
    )


def unbundled_requirements(functions: dict[str, dict[str, Any]], pinned: dict[str, str]) -> list[str]:
    """`<function> lacks <dist>==<version>` for each pinned distribution a function's bundle lacks."""
    problems = []
    for name, function in sorted(functions.items()):
        vendored = {
            part.split("/")[1].lower() for part in function.get("filePathMap", {}) if part.startswith("_vendor/")
        }
        problems += [
            f"{name} lacks {dist}=={version}"
            for dist, version in sorted(pinned.items())
            if f"{dist}-{version}.dist-info" not in vendored
        ]
    return problems


def pinned_requirements(root: Path) -> dict[str, str]:
    """requirements.txt's `name==version` lines, names as wheel dist-info directories spell them."""
    pinned: dict[str, str] = {}
    for line in (root / "requirements.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pinned[re.sub(r"[-_.]+", "_", name.split("[", 1)[0].strip()).lower()] = version.strip()
    return pinned


def _pyc_path(source: str) -> str:
    directory, _, name = source.rpartition("/")
    return f"{directory}/__pycache__/{name.removesuffix('.py')}.cpython-312.pyc"


def check_static(report: Report, files: list[str], output: Path) -> None:
    public = {file.removeprefix("public/") for file in files if file.startswith("public/")}
    served = {
        path.relative_to(output / "static").as_posix() for path in (output / "static").rglob("*") if path.is_file()
    }
    problems = [f"not published: public/{name}" for name in sorted(public - served)]
    problems += [f"published but not in public/: {name}" for name in sorted(served - public)]
    problems += [
        f"source file published: {n}" for n in sorted(served) if n.startswith(("lib/", "db/", "tests/", "scripts/"))
    ]
    report.check(f"static output is exactly public/ ({len(public)} files)", problems)


def check_routes(report: Report, compiled: Router, local: Router, security_headers: dict[str, str]) -> None:
    problems, parity = [], []
    for label, method, path in SAMPLE_REQUESTS:
        decision = compiled.decide(method, path)
        for name, value in security_headers.items():
            if decision.header(name) != value:
                problems.append(
                    f"{label} {path} ({decision.kind} {decision.status}): {name} is {decision.header(name)!r}"
                )
        if local.decide(method, path) != decision:
            parity.append(f"{method} {path}: local {local.decide(method, path)} != compiled {decision}")
    report.check(f"compiled routes add all {len(security_headers)} security headers on sample paths", problems)
    report.check("local router decides the sample paths as the compiled routes do", parity)


API_NOT_FOUND_REQUESTS = (("GET", "/api/does-not-exist"), ("POST", "/api/orders/x/nothing"), ("DELETE", "/API/X"))


def check_api_not_found(report: Report, compiled: Router) -> None:
    problems = []
    for method, path in API_NOT_FOUND_REQUESTS:
        decision = compiled.decide(method, path)
        if (decision.kind, decision.status) != ("function", 404) or decision.header("cache-control") != "no-store":
            problems.append(f"{method} {path}: {decision.kind} {decision.status} {decision.header('cache-control')!r}")
    page = compiled.decide("GET", "/does-not-exist")
    if page.kind != "error":
        problems.append(f"GET /does-not-exist: {page.kind} {page.target}, not the platform's 404")
    report.check("unknown /api paths reach a function answering 404 with no-store; pages keep Vercel's", problems)


def check_crons(report: Report, config: dict[str, Any], output: Path, compiled: Router) -> None:
    built = json.loads((output / "config.json").read_text()).get("crons", [])
    problems = [] if built == config.get("crons", []) else [f"compiled {built} != vercel.json {config.get('crons')}"]
    for cron in built:
        decision = compiled.decide("GET", cron["path"])
        # Its own function: any /api path reaches some function (the 404 one) since the error phase.
        if (decision.kind, decision.status, decision.target) != ("function", None, cron["path"].strip("/")):
            problems.append(f"{cron['path']} reaches {decision.kind} {decision.status} {decision.target!r}")
    report.check(f"crons compiled as declared ({len(built)}) and each reaches a function", problems)


def check_sizes(report: Report, output: Path) -> None:
    sizes = load_function_sizes(output)
    largest = max(sizes, key=lambda name: sizes[name]) if sizes else None
    for name in sorted(sizes):
        print(f"       {sizes[name] / 1e6:8.1f} MB  {name}{'   <- largest' if name == largest else ''}")
    over = [f"{name}: {sizes[name] / 1e6:.1f} MB" for name in sorted(sizes) if sizes[name] > MAX_FUNCTION_BYTES]
    report.check(f"no function over {MAX_FUNCTION_BYTES // (1024 * 1024)} MiB unzipped (the standard bundle)", over)


def main(argv: Sequence[str] | None = None) -> int:
    root = Path(argv[0]).resolve() if argv else ROOT
    report = Report()
    config = load_vercel_json(root)
    report.check(
        "vercel.json is valid for Vercel and the local router",
        validate_vercel_config(config) + validate_project(scan_project(root), config),
    )
    output = ensure_build(root, tool_root=ROOT)
    print(f"     built with the Vercel CLI: {output}")
    files = project_files(root)
    check_functions(report, root, config, files, output)
    check_static(report, files, output)
    compiled = compiled_router(output)
    check_routes(report, compiled, local_router(root), dict(SECURITY_HEADERS))
    check_api_not_found(report, compiled)
    check_crons(report, config, output, compiled)
    check_sizes(report, output)
    print(f"\n{'all checks passed' if not report.failures else f'{report.failures} check(s) failed'}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
