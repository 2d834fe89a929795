"""A local headless Chromium with its DevTools endpoint open: what a Browserbase session is.

Browserbase hands out a fresh browser per session and a CDP WebSocket URL to drive it; locally,
`launch_chromium()` starts the Debian Chromium with a fresh temporary profile (so no two
sessions share cookies) and reports the same kind of URL. The DevTools port is chosen by
Chromium itself (port 0) and read back from the `DevToolsActivePort` file it writes in the
profile directory, so parallel test processes never race for a port.

Chromium's output goes to a log file, never to pipes: nobody reads them, and a full pipe blocks
the browser. The browser runs in its own process group, so `close()` also ends its helpers
(zygote, renderers) if the main process does not take them down itself.

Chromium is required, never optional: `find_chromium()` raises with the way to install it rather
than letting a test skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
_CLOSE_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05
_LOG_TAIL_LINES = 15


class ChromiumMissing(RuntimeError):
    """No Chromium executable was found."""


class ChromiumFailed(RuntimeError):
    """Chromium exited before opening its DevTools endpoint, or did not open it in time."""


def find_chromium() -> str:
    """The Chromium to run: CHROMIUM_PATH if set, else the first one found on PATH or in /usr/bin."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        if not os.access(configured, os.X_OK):
            raise ChromiumMissing(f"CHROMIUM_PATH={configured!r} is not an executable file")
        return configured
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise ChromiumMissing(
        "Chromium is not installed: run ./scripts/test (which installs it), or "
        "`apt-get install -y chromium`, or set CHROMIUM_PATH to a Chromium executable"
    )


class ChromiumProcess:
    """A running headless Chromium and its DevTools endpoint. `close()` ends it and removes its files."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path, port: int, browser_path: str) -> None:
        self._process = process
        self._workdir = workdir
        self.port = port
        self.http_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}{browser_path}"
        self._closed = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        """Terminate (then kill, after 5 s) the browser and its helpers; remove the profile. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.alive():
            _signal_group(self._process, signal.SIGTERM)
            try:
                self._process.wait(timeout=_CLOSE_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(self._process, signal.SIGKILL)
                self._process.wait(timeout=_CLOSE_WAIT_SECONDS)
            # Any helper that outlived the browser. Only now, while the group id is surely still
            # ours: a browser that died long ago may have had its pid reused.
            _signal_group(self._process, signal.SIGKILL)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> ChromiumProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChromiumProcess(pid={self.pid}, ws_url={self.ws_url!r}, alive={self.alive()})"


def launch_chromium(path: str | None = None, *, timeout: float = 20) -> ChromiumProcess:
    """Start a fresh headless Chromium (new temporary profile) and wait for its DevTools endpoint."""
    executable = path or find_chromium()
    workdir = Path(tempfile.mkdtemp(prefix="zentro-chromium-"))
    profile = workdir / "profile"
    profile.mkdir()
    log_path = workdir / "chromium.log"
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [executable, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as error:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ChromiumFailed(f"could not start {executable}: {error}") from error
    try:
        port, browser_path = _wait_for_devtools(process, profile / "DevToolsActivePort", log_path, timeout)
    except BaseException:
        ChromiumProcess(process, workdir, 0, "").close()
        raise
    return ChromiumProcess(process, workdir, port, browser_path)


def _wait_for_devtools(
    process: subprocess.Popen[bytes], port_file: Path, log_path: Path, timeout: float
) -> tuple[int, str]:
    """Poll DevToolsActivePort (line 1: the port, line 2: the browser's WebSocket path)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            lines = port_file.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) >= 2 and lines[0].strip().isdigit() and lines[1].startswith("/"):
            return int(lines[0]), lines[1].strip()
        code = process.poll()
        if code is not None:
            raise ChromiumFailed(f"Chromium exited with status {code} before opening DevTools:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise ChromiumFailed(f"Chromium did not open DevTools within {timeout:g} s:\n{_tail(log_path)}")
        time.sleep(_POLL_SECONDS)


def _tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no output)"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(no output)"


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the browser's process group (it leads its own session); nothing if it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
