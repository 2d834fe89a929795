"""A function's process keeps what it loaded out of the garbage collector's walks (gc.freeze)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Loads a function file the way the runtime does, then reports the collector's permanent generation.
_LOAD_FUNCTION = """
import gc, importlib.util, sys
sys.path.insert(0, {root!r})
spec = importlib.util.spec_from_file_location("function", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(gc.get_freeze_count())
"""
# The same libraries and modules, without building a function.
_LOAD_LIBRARIES = """
import gc, sys
sys.path.insert(0, {root!r})
import lib.http.factory, lib.orders.service, sqlalchemy, sentry_sdk
print(gc.get_freeze_count())
"""


def _frozen(script: str) -> int:
    code = script.format(root=str(ROOT), path=str(ROOT / "api" / "orders" / "index.py"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def test_a_loaded_function_has_frozen_its_startup_objects_and_the_libraries_alone_do_not() -> None:
    libraries = _frozen(_LOAD_LIBRARIES)  # what the interpreter itself starts with (a few hundred)
    function = _frozen(_LOAD_FUNCTION)
    assert libraries < 1_000
    assert function > libraries + 20_000  # the modules, Sentry, SQLAlchemy, the app: tens of thousands
