"""A local fake of Resend's `POST /emails`, served over real HTTP for the real SDK to call.

What it does, as Resend documents it (resend.com/docs/api-reference/errors and
/dashboard/emails/idempotency-keys):

- `Authorization: Bearer <key>`: missing, empty or "None" -> 401 `missing_api_key`; another key
  -> 403 `invalid_api_key`;
- `Idempotency-Key` longer than 256 characters (or empty) -> 400 `invalid_idempotency_key`;
- missing `from`, `to` or `subject` -> 422 `missing_required_field`; neither `html` nor `text`,
  or a malformed tag -> 422 `validation_error`;
- success -> 200 `{"id": "<uuid>"}`, recorded in `deliveries`;
- the same Idempotency-Key again with the same JSON body -> 200 with the first id, nothing
  recorded; with a different body -> 409 `invalid_idempotent_request`.

Errors have Resend's shape: `{"statusCode": 403, "name": "invalid_api_key", "message": "..."}`.
`fail_next()` makes the next requests fail (before authentication, like an overloaded edge):
with any status, a Retry-After, a non-JSON body, or *after* accepting the email (the
"response lost" case a retry must not duplicate); `stall_next()` accepts the next email and
waits before answering, so a client's read timeout fires; `hang` (seconds) makes every request
wait that long before anything else happens (a provider that hangs), then fail with 503.
`requests` logs every request seen, as it arrives.

`fake_resend` (function scope) hands each test a reset fake on one server per session; `resend`
also points the app's email transport at it. A test
module loads the fixtures with `pytest_plugins = ["tests.fakes.resend_api"]` (an import would
also work, but then pytest cannot rewrite this module's asserts and ruff sees F811).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.servers import serve

DEFAULT_API_KEY = "re_fake_" + "k" * 24
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_MESSAGES = {
    400: "The key must be between 1-256 chars.",
    401: "Missing API key in the authorization header.",
    403: "API key is invalid.",
    409: "Same idempotency key used with a different request payload.",
    429: "Too many requests. Please limit the number of requests per second.",
    500: "An unexpected error occurred.",
}
_NAMES = {429: "rate_limit_exceeded", 500: "application_error", 502: "application_error", 503: "application_error"}


@dataclass(frozen=True)
class Delivery:
    """One email the fake accepted."""

    id: str
    payload: dict[str, Any]
    headers: dict[str, str]  # lower-cased names

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class _Failure:
    status: int
    name: str | None
    retry_after: str | None
    json_body: bool
    after_delivery: bool


@dataclass
class FakeResend:
    api_key: str = DEFAULT_API_KEY
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _idempotent: dict[str, tuple[str, str]] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _stalls: list[float] = field(default_factory=list)
    hang: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.api_key = DEFAULT_API_KEY
            self.hang = 0.0
            self.deliveries.clear()
            self.requests.clear()
            self._idempotent.clear()
            self._failures.clear()
            self._stalls.clear()

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        name: str | None = None,
        retry_after: str | None = None,
        json_body: bool = True,
        after_delivery: bool = False,
    ) -> None:
        """Answer the next `count` requests with `status`. With `after_delivery`, the email is
        accepted (and its idempotency key remembered) before the error is sent back."""
        with self._lock:
            self._failures += [_Failure(status, name, retry_after, json_body, after_delivery) for _ in range(count)]

    def stall_next(self, seconds: float) -> None:
        """Handle the next request normally, then wait `seconds` before answering."""
        with self._lock:
            self._stalls.append(seconds)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/emails", self._send_email, methods=["POST"])])

    async def _send_email(self, request: Request) -> Response:
        raw = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            self.requests.append({"headers": headers, "body": raw})
            hang = self.hang
        if hang:
            await asyncio.sleep(hang)
            return _error(503, "application_error")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            if failure is not None and not failure.after_delivery:
                return _failure_response(failure)
            response = self._handle(raw, headers)
            if failure is not None:
                return _failure_response(failure)
            stall = self._stalls.pop(0) if self._stalls else 0.0
        if stall:
            await asyncio.sleep(stall)
        return response

    def _handle(self, raw: bytes, headers: dict[str, str]) -> Response:
        authorization = headers.get("authorization", "")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or key.strip() in ("", "None"):
            return _error(401, "missing_api_key")
        if key != self.api_key:
            return _error(403, "invalid_api_key")

        idempotency_key = headers.get("idempotency-key")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 256:
            return _error(400, "invalid_idempotency_key")
        try:
            payload = json.loads(raw)
        except ValueError:
            return _error(422, "validation_error", "The request body is not valid JSON.")
        if not isinstance(payload, dict):
            return _error(422, "validation_error", "The request body must be a JSON object.")
        for name in ("from", "to", "subject"):
            if not payload.get(name):
                return _error(422, "missing_required_field", f"Missing `{name}` field.")
        if not payload.get("html") and not payload.get("text"):
            return _error(422, "validation_error", "Missing `html` or `text` field.")
        for tag in payload.get("tags") or []:
            if not (_TAG.match(str(tag.get("name", ""))) and _TAG.match(str(tag.get("value", "")))):
                return _error(422, "validation_error", "Tags may contain only ASCII letters, numbers, _ and -.")

        fingerprint = json.dumps(payload, sort_keys=True)
        if idempotency_key is not None and idempotency_key in self._idempotent:
            first_fingerprint, first_id = self._idempotent[idempotency_key]
            if first_fingerprint != fingerprint:
                return _error(409, "invalid_idempotent_request")
            return JSONResponse({"id": first_id})
        email_id = str(uuid.uuid4())
        self.deliveries.append(Delivery(email_id, payload, headers))
        if idempotency_key is not None:
            self._idempotent[idempotency_key] = (fingerprint, email_id)
        return JSONResponse({"id": email_id})


def _error(status: int, name: str, message: str | None = None) -> Response:
    body = {"statusCode": status, "name": name, "message": message or _MESSAGES.get(status, name)}
    return JSONResponse(body, status_code=status)


def _failure_response(failure: _Failure) -> Response:
    headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
    if not failure.json_body:
        return PlainTextResponse("<html>Bad gateway</html>", status_code=failure.status, headers=headers)
    response = _error(failure.status, failure.name or _NAMES.get(failure.status, "application_error"))
    response.headers.update(headers)
    return response


@pytest.fixture(scope="session")
def fake_resend_server() -> Iterator[FakeResend]:
    fake = FakeResend()
    with serve(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def fake_resend(fake_resend_server: FakeResend) -> FakeResend:
    """The session's fake Resend API, emptied for this test."""
    fake_resend_server.reset()
    return fake_resend_server


@pytest.fixture
def resend(database: Any, fake_resend: FakeResend) -> Iterator[FakeResend]:
    """The app's email transport pointed at the fake, with no other email queued (jobs still
    pending from earlier tests are marked done, so each test drains only its own)."""
    from lib.config import settings

    saved = {name: os.environ.get(name) for name in ("RESEND_API_KEY", "RESEND_API_URL")}
    os.environ["RESEND_API_KEY"] = fake_resend.api_key
    os.environ["RESEND_API_URL"] = fake_resend.url
    settings.cache_clear()
    with database.connect("superuser") as conn:
        conn.execute("UPDATE jobs SET status = 'done', payload = NULL WHERE status IN ('pending', 'running')")
    yield fake_resend
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings.cache_clear()
