"""Import an api/ file the way a Vercel function instance does: once, lazily, on first use.

Each file is imported under its own module name (`api/orders/[id].py` is not an importable
dotted name, and two files may share a base name). The module is registered in sys.modules
before it runs so that libraries resolving string annotations through `sys.modules[__module__]`
(msgspec, dataclasses) work as they do on Vercel. The project root must already be on sys.path
(pytest's `pythonpath = .`, or scripts/bootstrap.sh's PYTHONPATH), as it is on Vercel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import cast

from starlette.types import ASGIApp


def module_name(root: Path, function: str) -> str:
    digest = hashlib.sha256(f"{root.resolve()}:{function}".encode()).hexdigest()[:10]
    return "_localvercel_" + re.sub(r"\W", "_", function) + "_" + digest


class FunctionLoader:
    """Maps a function name (`api/health`) to the ASGI `app` its file defines."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._apps: dict[str, ASGIApp] = {}

    def app(self, function: str) -> ASGIApp:
        cached = self._apps.get(function)
        if cached is None:
            cached = self._apps[function] = self._load(function)
        return cached

    def wrap(self, function: str, wrapper: Callable[[ASGIApp], ASGIApp]) -> None:
        """Serve `wrapper(app)` in the function's place (scripts/bench_orders times one function so)."""
        self._apps[function] = wrapper(self.app(function))

    def _load(self, function: str) -> ASGIApp:
        path = self.root / f"{function}.py"
        name = module_name(self.root, function)
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        app = getattr(module, "app", None)
        if app is None or not callable(app):
            raise TypeError(f"{path} has no top-level ASGI `app` (the local runtime does not run `handler` classes)")
        return cast(ASGIApp, app)
