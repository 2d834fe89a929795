"""The "filesystem" a route table is checked against: function names and static files.

Two sources, one lookup. From the checkout, functions are the api/ files (ProjectFiles) and
static files are public/; from a build, functions are `functions/**/X.func` and static files are
`static/**`. `lookup` is the platform's own resolution, which no route spells out (the compiled
table has no route for `/api/orders` -> `api/orders/index.func`):

- the exact name (`/api/orders/[id]` finds the function `api/orders/[id]`);
- one trailing slash ignored (`/api/health/` finds `api/health`);
- a directory finds its `index` function or `index.html` file (`/api` finds `api/index`).

Names are case-sensitive, as on Vercel; only route `src` matching ignores case.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scripts.localvercel.project import ProjectFiles


@dataclass(frozen=True, slots=True)
class Target:
    kind: Literal["function", "static"]
    name: str  # `api/orders/[id]` for a function, `robots.txt` for public/robots.txt


class FilesystemIndex:
    """Function names and static file paths, looked up the way Vercel's proxy does."""

    def __init__(self, functions: Iterable[str], statics: Iterable[str]) -> None:
        self.functions = frozenset(functions)
        self.statics = frozenset(statics)

    @classmethod
    def from_project(cls, project: ProjectFiles) -> FilesystemIndex:
        return cls(project.functions, project.static_files)

    @classmethod
    def from_output(cls, output: Path) -> FilesystemIndex:
        """The filesystem of a Build Output API v3 directory (`.vercel/output`)."""
        functions: list[str] = []
        base = output / "functions"
        for dirpath, dirnames, _ in os.walk(base, followlinks=True):
            for name in list(dirnames):
                if name.endswith(".func"):
                    relative = (Path(dirpath) / name).relative_to(base).as_posix()
                    functions.append(relative[: -len(".func")])
                    dirnames.remove(name)
        statics = [
            path.relative_to(output / "static").as_posix() for path in (output / "static").rglob("*") if path.is_file()
        ]
        return cls(functions, statics)

    def lookup(self, path: str) -> Target | None:
        if not path.startswith("/"):
            return None
        name = path[1:]
        if name.endswith("/"):
            name = name[:-1]
        index = f"{name}/index" if name else "index"
        for candidate in (name, index):
            if candidate in self.functions:
                return Target("function", candidate)
        for candidate in (name, index + ".html"):
            if candidate in self.statics:
                return Target("static", candidate)
        return None
