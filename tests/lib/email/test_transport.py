"""What a transport is given is checked on construction; Retry-After is read in both forms."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lib.email import OutgoingEmail
from lib.email.transport import parse_retry_after

ROOT = Path(__file__).resolve().parents[3]
VALID: dict[str, Any] = {
    "to": "rosa.quispe@example.pe",
    "subject": "Restablece tu contraseña de Zentro",
    "text": "Hola: https://app.zentro.one/r#t=tok_secret",
    "html": "<p>Hola</p>",
    "idempotency_key": "outbox-0d045f05",
}


def test_a_valid_message_is_accepted() -> None:
    message = OutgoingEmail(**VALID, tags={"template": "password_reset"})
    assert message.to == VALID["to"] and dict(message.tags) == {"template": "password_reset"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "rosa.quispe"),
        ("to", "a@example.pe, b@example.pe"),
        ("to", "rosa@example.pe\r\nBcc: x@evil.test"),
        ("to", "Rosa <rosa@example.pe>"),
        ("subject", ""),
        ("subject", "Hola\r\nBcc: x@evil.test"),
        ("text", " "),
        ("html", ""),
        ("idempotency_key", ""),
        ("idempotency_key", "k" * 257),
        ("idempotency_key", "two words"),
    ],
)
def test_malformed_fields_are_refused(field: str, value: str) -> None:
    expected = {"to": "recipient", "subject": "subject", "text": "body", "html": "body", "idempotency_key": "key"}
    with pytest.raises(ValueError, match=expected[field]):
        OutgoingEmail(**{**VALID, field: value})
    assert OutgoingEmail(**VALID)  # the same setup with the valid value


@pytest.mark.parametrize("tags", [{"template": "password reset"}, {"": "x"}, {"tpl": "ñ"}])
def test_tags_follow_resend_rules(tags: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="tag"):
        OutgoingEmail(**VALID, tags=tags)
    assert OutgoingEmail(**VALID, tags={"template": "password_reset", "lang": "es"})


def test_the_longest_allowed_idempotency_key_is_accepted() -> None:
    assert OutgoingEmail(**{**VALID, "idempotency_key": "k" * 256})


def test_repr_does_not_show_the_body() -> None:
    message = OutgoingEmail(**VALID)
    assert "tok_secret" not in repr(message) and "<p>" not in repr(message)
    assert VALID["idempotency_key"] in repr(message)


def test_tags_cannot_be_changed_after_construction() -> None:
    tags = {"template": "invitation"}
    message = OutgoingEmail(**VALID, tags=tags)
    tags["template"] = "other"
    assert message.tags["template"] == "invitation"
    with pytest.raises(TypeError):
        message.tags["x"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_delta_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 24 Nov 2026 10:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Tue, 24 Nov 2026 09:59:00 GMT", now=now) == 0.0


def test_importing_lib_email_does_not_import_the_sdk() -> None:
    code = (
        "import sys, lib.email, lib.email.resend_transport; "
        "print('resend' in sys.modules, 'requests' in sys.modules); "
        "lib.email.ResendTransport('re_test_key_123', 'Zentro <no-reply@zentro.one>'); "
        "print('resend' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.split() == ["False", "False", "True"]
