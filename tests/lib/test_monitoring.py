"""Sentry gets the error, and nothing secret or personal comes with it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport
from starlette.testclient import TestClient

from lib.config import Secret
from lib.http import PUBLIC, Call, Operation, Schema, function_app
from lib.monitoring import init_monitoring, shutdown_monitoring

from .http.apps import TEST_SETTINGS

SESSION_COOKIE = "sess-9f8e7d6c5b4a39281706"
BEARER = "tok-0a1b2c3d4e5f60718293"
PASSWORD = "Correct-Horse-Battery-9"
EMAIL = "rosa.quispe@example.pe"
PHONE = "+51 987 654 321"
DNI = "45871236"


class CapturingTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def serialized(self) -> str:
        return b"".join(envelope.serialize() for envelope in self.envelopes).decode("utf-8", "replace")


class Signup(Schema):
    email: str
    password: str
    phone: str
    dni: str


class Done(Schema):
    ok: bool


def careless(call: Call[Signup, None]) -> Done:
    # A bug that puts everything it knows in the exception message.
    body = call.body
    raise RuntimeError(
        f"could not save {body.email} / {body.phone} / dni {body.dni}: password={body.password} "
        f"cookie={call.headers.get('cookie')} auth={call.headers.get('authorization')}"
    )


@pytest.fixture
def sentry() -> Iterator[CapturingTransport]:
    transport = CapturingTransport()
    settings = replace(TEST_SETTINGS, sentry_dsn=Secret("https://0123456789abcdef@sentry.invalid/1"))
    assert init_monitoring(settings, transport=transport)
    yield transport
    shutdown_monitoring()


def post_signup(settings: Any) -> Any:
    app = function_app(
        "/api/signup", Operation("POST", careless, access=PUBLIC, body=Signup, response=Done), settings=settings
    )
    client = TestClient(app, base_url="http://localhost:3000", raise_server_exceptions=False)
    return client.post(
        "/api/signup?token=" + BEARER,
        json={"email": EMAIL, "password": PASSWORD, "phone": PHONE, "dni": DNI},
        headers={"Cookie": f"__Host-zentro_session={SESSION_COOKIE}", "Authorization": f"Bearer {BEARER}"},
    )


def test_errors_reach_sentry_without_secrets_or_contact_data(sentry: CapturingTransport) -> None:
    response = post_signup(TEST_SETTINGS)
    assert response.status_code == 500

    # Positive: the event was sent, names the exception and the request id.
    assert sentry.envelopes, "no event reached the transport"
    events = [item.payload.json for env in sentry.envelopes for item in env.items if item.type == "event"]
    assert len(events) == 1
    event = events[0]
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == response.headers["x-request-id"]

    # Negative: none of the secrets appear anywhere in what was sent.
    sent = sentry.serialized()
    for secret in (SESSION_COOKIE, BEARER, PASSWORD, EMAIL, PHONE, PHONE.replace(" ", ""), DNI):
        assert secret not in sent, secret
    frames = event["exception"]["values"][0]["stacktrace"]["frames"]
    assert all("vars" not in frame for frame in frames)


def test_nothing_is_sent_without_a_dsn() -> None:
    transport = CapturingTransport()
    assert not init_monitoring(TEST_SETTINGS, transport=transport)
    assert post_signup(TEST_SETTINGS).status_code == 500
    assert transport.envelopes == []
    assert not sentry_sdk.get_client().is_active()


def test_sampled_requests_are_traced_without_secrets() -> None:
    transport = CapturingTransport()
    settings = replace(
        TEST_SETTINGS, sentry_dsn=Secret("https://0123456789abcdef@sentry.invalid/1"), sentry_traces_sample_rate=1.0
    )
    assert init_monitoring(settings, transport=transport)
    try:
        app = function_app(
            "/api/ok", Operation("GET", lambda call: Done(ok=True), access=PUBLIC, response=Done), settings=settings
        )
        client = TestClient(app, base_url="http://localhost:3000")
        assert client.get("/api/ok?token=" + BEARER, headers={"Authorization": f"Bearer {BEARER}"}).status_code == 200
        sentry_sdk.flush()
    finally:
        shutdown_monitoring()
    transactions = [
        item.payload.json for env in transport.envelopes for item in env.items if item.type == "transaction"
    ]
    assert [t["transaction"] for t in transactions] == ["GET /api/ok"]
    assert BEARER not in transport.serialized()
