"""Run the real `vercel build` on a copy of a project, offline, and cache its output.

    output = ensure_build(ROOT)        # .cache/vercel-build/output, rebuilt only when inputs change

What makes the CLI (pinned in scripts/vercel-cli/package.json) build with no login and no
network but PyPI, as verified in shared/PLATFORM-NOTES.md: a hand-written `.vercel/project.json`,
`.python-version`, `uv` and `python3.12` first on PATH (the project's .venv/bin), and telemetry
off. The build writes pyproject.toml and uv.lock into the project root, so it always runs in a
fresh temporary copy, never in the checkout. The copy holds what git would commit
(`git ls-files --cached --others --exclude-standard`, so new files count before they are added).

A function's `.vc-config.json` lists its files by path in that temporary copy, which is gone
afterwards, so the unzipped size of every function is measured right after the build and kept
next to the output (function-sizes.json).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLI_DIR = Path("scripts/vercel-cli")
PROJECT_JSON = {"projectId": "prj_local", "orgId": "team_local", "settings": {"framework": None}}
# Bump when what ensure_build writes changes, so old caches are rebuilt.
_CACHE_FORMAT = "2"
_SKIPPED_DIRS = frozenset(
    {".git", ".vercel", "node_modules", ".venv", "__pycache__", ".cache", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)


class BuildError(RuntimeError):
    pass


def ensure_cli(tool_root: Path) -> Path:
    """The pinned `vercel` binary, installed with npm from the committed lock if it is missing."""
    cli_dir = tool_root / CLI_DIR
    binary = cli_dir / "node_modules" / ".bin" / "vercel"
    wanted = json.loads((cli_dir / "package.json").read_text())["dependencies"]["vercel"]
    installed_pkg = cli_dir / "node_modules" / "vercel" / "package.json"
    installed = json.loads(installed_pkg.read_text()).get("version") if installed_pkg.is_file() else None
    if binary.exists() and installed == wanted:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is needed to install the Vercel CLI (scripts/vercel-cli)")
    flags = ["--ignore-scripts", "--no-audit", "--no-fund"]
    if (cli_dir / "package-lock.json").is_file():
        if _npm(npm, ["ci", *flags], cli_dir) == 0:
            return binary
        # `npm ci` refuses a lock without the other platforms' optional @vercel/vc-native-*
        # packages, and npm leaves those out when the registry it resolved against lacks them (our
        # mirror does). `install --no-save` installs the same locked versions and leaves the lock as is.
        if _npm(npm, ["install", "--no-save", *flags], cli_dir) == 0:
            return binary
    elif _npm(npm, ["install", *flags], cli_dir) == 0:
        return binary
    raise BuildError(f"npm could not install the Vercel CLI in {cli_dir}")


def _npm(npm: str, args: list[str], cwd: Path) -> int:
    return subprocess.run([npm, *args], cwd=cwd, stdout=sys.stderr, check=False).returncode


def project_files(root: Path) -> list[str]:
    """What would be committed: git's view in a checkout, every file elsewhere (test fixtures)."""
    if (root / ".git").exists():
        listed = (
            subprocess.run(
                ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                cwd=root,
                check=True,
                capture_output=True,
            )
            .stdout.decode()
            .split("\0")
        )
        return sorted({path for path in listed if path and (root / path).is_file()})
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name not in _SKIPPED_DIRS]
        files.extend((Path(dirpath) / name).relative_to(root).as_posix() for name in filenames)
    return sorted(files)


def inputs_hash(root: Path, files: list[str], tool_root: Path) -> str:
    digest = hashlib.sha256(f"format {_CACHE_FORMAT}\n".encode())
    for lock in ("package.json", "package-lock.json"):
        path = tool_root / CLI_DIR / lock
        digest.update(path.read_bytes() if path.is_file() else b"")
    for file in files:
        digest.update(file.encode() + b"\0" + hashlib.sha256((root / file).read_bytes()).digest())
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build per cache at a time, across pytest-xdist workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _venv_bin(tool_root: Path) -> Path:
    venv = tool_root / ".venv" / "bin"
    return venv if (venv / "uv").exists() else Path(sys.executable).parent


def ensure_build(root: Path, *, cache_dir: Path | None = None, tool_root: Path | None = None) -> Path:
    """`.vercel/output` of `root`, from the cache when nothing that goes into the build changed.

    `tool_root` is the checkout whose scripts/vercel-cli and .venv run the build (defaults to
    `root`); fixtures built by tests pass the real project root.
    """
    root = root.resolve()
    tool_root = (tool_root or root).resolve()
    cache_dir = cache_dir or root / ".cache" / "vercel-build"
    output = cache_dir / "output"
    with _locked(cache_dir / ".lock"):
        files = project_files(root)
        stamp = inputs_hash(root, files, tool_root)
        stamp_file = cache_dir / "stamp"
        if (output / "config.json").is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
            return output
        binary = ensure_cli(tool_root)
        with tempfile.TemporaryDirectory(prefix="vercel-build-") as tmp:
            work = Path(tmp)
            for file in files:
                (work / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / file, work / file)
            (work / ".vercel").mkdir(exist_ok=True)
            (work / ".vercel" / "project.json").write_text(json.dumps(PROJECT_JSON))
            _run_build(binary, work, tool_root, cache_dir / "build.log")
            sizes = function_sizes(work, work / ".vercel" / "output")
            if output.exists():
                shutil.rmtree(output)
            shutil.copytree(work / ".vercel" / "output", output, symlinks=True)
        (cache_dir / "function-sizes.json").write_text(json.dumps(sizes, indent=2, sort_keys=True))
        stamp_file.write_text(stamp)
    return output


def _run_build(binary: Path, work: Path, tool_root: Path, log: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VERCEL")}
    env["PATH"] = f"{_venv_bin(tool_root)}{os.pathsep}{env.get('PATH', '')}"
    env["VERCEL_TELEMETRY_DISABLED"] = "1"
    # Build as production does (README, "Deploying"): with compiled bytecode in the bundle. The
    # runtime sets PYTHONDONTWRITEBYTECODE, so without it every cold start compiles every module.
    env["VERCEL_PYTHON_COMPILEALL"] = "1"
    env.pop("VIRTUAL_ENV", None)
    with log.open("w") as out:
        result = subprocess.run(
            [str(binary), "build", "--yes"],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if result.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise BuildError(f"vercel build failed ({result.returncode}); log {log}:\n{tail}")


def function_sizes(work: Path, output: Path) -> dict[str, int]:
    """Unzipped bytes per function: every file its filePathMap names, plus its .func directory."""
    sizes: dict[str, int] = {}
    for config_path in sorted((output / "functions").rglob(".vc-config.json")):
        func_dir = config_path.parent
        name = func_dir.relative_to(output / "functions").as_posix().removesuffix(".func")
        config = json.loads(config_path.read_text())
        total = sum((work / source).stat().st_size for source in config.get("filePathMap", {}).values())
        total += sum(path.stat().st_size for path in func_dir.rglob("*") if path.is_file())
        sizes[name] = total
    return sizes


def load_function_sizes(output: Path) -> dict[str, int]:
    sizes: dict[str, int] = json.loads((output.parent / "function-sizes.json").read_text())
    return sizes
