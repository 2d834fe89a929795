"""Every response names its request id; every log line written while serving it does too."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from starlette.datastructures import Headers

from lib.http.client_ip import client_ip
from lib.logs import JsonFormatter

from .apps import echo_client


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("zentro")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_each_response_gets_a_fresh_random_request_id() -> None:
    client = echo_client()
    ids = {client.get("/api/echo").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"[0-9a-f]{24}", value) for value in ids)


def test_a_client_supplied_request_id_is_not_trusted() -> None:
    response = echo_client().get("/api/echo", headers={"X-Request-Id": "evil\nid"})
    assert response.headers["x-request-id"] != "evil\nid"


def test_log_lines_carry_the_request_id(json_log: io.StringIO) -> None:
    response = echo_client().post("/api/echo", json={"sku": "A-1", "quantity": 1})
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    echoed = [line for line in lines if line["msg"] == "echo called"]
    assert echoed and echoed[0]["request_id"] == response.headers["x-request-id"] == response.json()["request_id"]


def test_log_injection_stays_inside_one_json_line(json_log: io.StringIO) -> None:
    echo_client().post("/api/echo", json={"sku": 'A\n{"level": "info", "msg": "admin login ok"}', "quantity": 1})
    lines = json_log.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["sku"].startswith("A\n")


def test_log_lines_never_carry_credentials_or_contact_data(json_log: io.StringIO) -> None:
    logging.getLogger("zentro.tests").info(
        "login for ana@example.com with password=hunter2", extra={"password": "hunter2", "phone": "+51987654321"}
    )
    line = json_log.getvalue()
    assert "hunter2" not in line and "ana@example.com" not in line and "987654321" not in line
    assert "login for" in line


def test_forged_forwarded_for_does_not_change_the_client_ip() -> None:
    scope = {"type": "http", "client": ("203.0.113.7", 5000)}
    forged = Headers({"x-forwarded-for": "1.2.3.4", "x-real-ip": "1.2.3.4"})
    assert client_ip(scope, forged, behind_vercel=False) == "203.0.113.7"
    # Behind Vercel the proxy's own header is the truth, and X-Forwarded-For is still ignored.
    vercel = Headers({"x-vercel-forwarded-for": "198.51.100.9", "x-forwarded-for": "1.2.3.4"})
    assert client_ip({"type": "http", "client": ("127.0.0.1", 1)}, vercel, behind_vercel=True) == "198.51.100.9"
    assert (
        client_ip(
            {"type": "http", "client": ("127.0.0.1", 1)}, Headers({"x-forwarded-for": "1.2.3.4"}), behind_vercel=True
        )
        is None
    )
