"""Small function apps built with the real factory, for exercising the shared stack."""

from __future__ import annotations

import logging
from dataclasses import replace

from starlette.testclient import TestClient

from lib.config import Secret, Settings
from lib.crypto import KeyRing
from lib.http import PUBLIC, ApiError, Call, Operation, Reply, Schema, function_app

TEST_SETTINGS = Settings(
    environment="test",
    on_vercel=False,
    database_url=Secret("postgresql+psycopg://nobody@/nothing?host=/nonexistent"),
    password_pepper=Secret("a-pepper-for-apps-that-never-hash-anything"),
    encryption_keys=Secret(KeyRing.generate_value(1)),
    cron_secret=Secret("a-cron-secret-long-enough-for-the-rules-123"),
    max_body_bytes=2048,
)

_log = logging.getLogger("zentro.tests")


class Item(Schema):
    sku: str
    quantity: int


class Echo(Schema):
    sku: str
    quantity: int
    request_id: str


def echo(call: Call[Item, None]) -> Echo:
    _log.info("echo called", extra={"sku": call.body.sku})
    return Echo(sku=call.body.sku, quantity=call.body.quantity, request_id=call.meta.request_id)


class Ok(Schema):
    ok: bool


def ok(call: Call[None, None]) -> Ok:
    return Ok(ok=True)


def boom(call: Call[None, None]) -> Ok:
    raise RuntimeError("database password=hunter2 leaked for ana@example.com +51 987 654 321")


def forbidden(call: Call[None, None]) -> Ok:
    raise ApiError("forbidden", 403)


def sandboxed(call: Call[None, None]) -> Reply:
    return Reply(body=Ok(ok=True), headers={"Content-Security-Policy": "sandbox"})


def make_client(path: str, *operations: Operation, **settings_changes: object) -> TestClient:
    settings = replace(TEST_SETTINGS, **settings_changes)  # type: ignore[arg-type]
    app = function_app(path, *operations, settings=settings)
    return TestClient(app, base_url="http://localhost:3000", raise_server_exceptions=False)


def echo_client(**settings_changes: object) -> TestClient:
    return make_client(
        "/api/echo",
        Operation("POST", echo, access=PUBLIC, body=Item, response=Echo),
        Operation("GET", ok, access=PUBLIC, response=Ok),
        **settings_changes,
    )
