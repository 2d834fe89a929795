"""schemathesis, with all its default checks, against the local runtime over real HTTP.

The server is the one ./scripts/dev runs (router, OpenAPI page), on an ephemeral port, in this
process so it shares the test database. The CLI is run as a user would run it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from scripts.devserver import OPENAPI_PATH, build_local_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def live_server(database: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_local_app(ROOT), log_level="warning", proxy_headers=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("local server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_schemathesis_finds_no_issue(live_server: str) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{live_server}{OPENAPI_PATH}",
            "--header",
            f"Authorization: Bearer {os.environ['CRON_SECRET']}",
            "--checks",
            "all",
            "--max-examples",
            "50",
            "--seed",
            "20261124",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout
