"""Without a Resend key, messages land as .eml files a mail client (or the email package) reads."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from lib.email import LocalDirectoryTransport, OutgoingEmail, render

SENDER = "Zentro <no-reply@localhost>"


def _message(key: str = "outbox-42", to: str = "rosa.quispe@example.pe") -> OutgoingEmail:
    rendered = render("password_reset", "es", {"link": "http://127.0.0.1:3000/r#t=tok_1", "expires_minutes": "30"})
    return OutgoingEmail(
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        idempotency_key=key,
        tags={"template": "password_reset"},
    )


def _read(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_writes_a_readable_eml_file(tmp_path: Path) -> None:
    transport = LocalDirectoryTransport(
        tmp_path / "mail", clock=lambda: datetime(2026, 11, 24, 10, 15, 0, 5, tzinfo=UTC)
    )
    message = _message()
    result = transport.send(message)

    assert result.provider_id == "local-outbox-42"
    files = list((tmp_path / "mail").iterdir())
    assert [f.name for f in files] == ["20261124T101500.000005Z-outbox-42.eml"]
    parsed = _read(files[0])
    assert parsed["From"] == SENDER and parsed["To"] == message.to
    assert parsed["Subject"] == "Restablece tu contraseña de Zentro"
    assert parsed["X-Zentro-Idempotency-Key"] == "outbox-42"
    assert parsed.get_content_type() == "multipart/alternative"
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content() == message.text
    assert html_part.get_content() == message.html
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600  # it holds a live reset link


def test_the_same_key_twice_writes_one_file_and_returns_the_same_id(tmp_path: Path) -> None:
    transport = LocalDirectoryTransport(tmp_path)
    first = transport.send(_message("outbox-1"))
    again = transport.send(_message("outbox-1"))
    assert again == first and len(list(tmp_path.glob("*.eml"))) == 1
    # Positive case under the same setup: another key is another file.
    other = transport.send(_message("outbox-2"))
    assert other.provider_id == "local-outbox-2" and len(list(tmp_path.glob("*.eml"))) == 2


def test_idempotency_survives_a_new_transport_on_the_same_directory(tmp_path: Path) -> None:
    LocalDirectoryTransport(tmp_path).send(_message("outbox-7"))
    assert LocalDirectoryTransport(tmp_path).send(_message("outbox-7")).provider_id == "local-outbox-7"
    assert len(list(tmp_path.glob("*.eml"))) == 1


@pytest.mark.parametrize(("first", "second"), [("x", "foo-x"), ("a/b", "a_b"), ("welcome-user/1", "welcome-user_1")])
def test_keys_that_look_alike_do_not_collide(tmp_path: Path, first: str, second: str) -> None:
    transport = LocalDirectoryTransport(tmp_path)
    transport.send(_message(first))
    transport.send(_message(second))
    assert len(list(tmp_path.glob("*.eml"))) == 2
    assert transport.path_for(first) != transport.path_for(second)


def test_a_key_with_unsafe_characters_gets_a_hashed_file_name(tmp_path: Path) -> None:
    transport = LocalDirectoryTransport(tmp_path)
    result = transport.send(_message("../../etc/passwd"))
    assert result.provider_id == "local-../../etc/passwd"
    (path,) = tmp_path.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-sha256-[0-9a-f]{64}\.eml", path.name)
    assert _read(path)["X-Zentro-Idempotency-Key"] == "../../etc/passwd"


def test_sender_must_be_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sender"):
        LocalDirectoryTransport(tmp_path, sender="Zentro")
    assert LocalDirectoryTransport(tmp_path, sender="Zentro <dev@localhost>")
