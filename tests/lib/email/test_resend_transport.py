"""ResendTransport through the real resend SDK, over HTTP, against the local fake of Resend's API.

Each failure case runs next to its success case on the same fake, so a fake that stopped failing
(or a transport that stopped talking to it) would show up as a broken positive case.
"""

from __future__ import annotations

import socket
import traceback
from typing import TYPE_CHECKING

import pytest

from lib.email import (
    EmailConfigurationError,
    EmailDeliveryError,
    OutgoingEmail,
    PermanentEmailError,
    ResendTransport,
    TransientEmailError,
    render,
)

if TYPE_CHECKING:
    from tests.fakes.resend_api import FakeResend

# The fake_resend fixture. Loaded as a plugin (not imported) so pytest rewrites its asserts.
pytest_plugins = ["tests.fakes.resend_api"]

SENDER = "Zentro <no-reply@zentro.one>"
TOKEN = "tok_Zq9xSecretResetToken"
RECIPIENT = "rosa.quispe@example.pe"


def _message(key: str = "outbox-0001", *, link_token: str = TOKEN) -> OutgoingEmail:
    rendered = render(
        "password_reset", "es", {"link": f"https://app.zentro.one/restablecer#t={link_token}", "expires_minutes": "30"}
    )
    return OutgoingEmail(
        to=RECIPIENT, subject=rendered.subject, text=rendered.text, html=rendered.html, idempotency_key=key
    )


def _transport(fake: FakeResend, *, api_key: str | None = None, read_timeout: float = 5.0) -> ResendTransport:
    return ResendTransport(api_key or fake.api_key, SENDER, fake.url, read_timeout=read_timeout)


def _assert_leaks_nothing(error: EmailDeliveryError, api_key: str) -> None:
    message = _message()
    rendered = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    for secret in (api_key, TOKEN, message.html, message.text, RECIPIENT):
        assert secret not in rendered
    assert error.__cause__ is None and error.__context__ is None


def test_sends_exactly_what_it_was_given(fake_resend: FakeResend) -> None:
    message = OutgoingEmail(
        to=RECIPIENT,
        subject="Asunto con tildes: contraseña",
        text="Texto plano",
        html="<p>HTML</p>",
        idempotency_key="outbox-0001",
        tags={"template": "password_reset"},
    )
    result = _transport(fake_resend).send(message)

    (delivery,) = fake_resend.deliveries
    assert result.provider_id == delivery.id
    assert delivery.payload == {
        "from": SENDER,
        "to": [RECIPIENT],
        "subject": "Asunto con tildes: contraseña",
        "text": "Texto plano",
        "html": "<p>HTML</p>",
        "tags": [{"name": "template", "value": "password_reset"}],
    }
    assert delivery.idempotency_key == "outbox-0001"
    assert delivery.headers["authorization"] == f"Bearer {fake_resend.api_key}"
    assert delivery.headers["user-agent"].startswith("resend-python:")


def test_the_same_message_twice_is_delivered_once(fake_resend: FakeResend) -> None:
    transport = _transport(fake_resend)
    first = transport.send(_message("outbox-0002"))
    second = transport.send(_message("outbox-0002"))
    assert second == first
    assert len(fake_resend.requests) == 2 and len(fake_resend.deliveries) == 1
    # Positive case under the same setup: another key is another delivery.
    third = transport.send(_message("outbox-0003"))
    assert third != first and len(fake_resend.deliveries) == 2


def test_server_error_is_transient_and_a_retry_delivers_once(fake_resend: FakeResend) -> None:
    transport = _transport(fake_resend)
    fake_resend.fail_next(status=500)
    with pytest.raises(TransientEmailError) as caught:
        transport.send(_message())
    assert caught.value.status == 500 and caught.value.code == "application_error"
    assert caught.value.retry_after_seconds is None
    assert fake_resend.deliveries == []

    result = transport.send(_message())
    (delivery,) = fake_resend.deliveries
    assert result.provider_id == delivery.id


def test_a_lost_response_is_retried_without_a_second_delivery(fake_resend: FakeResend) -> None:
    transport = _transport(fake_resend)
    fake_resend.fail_next(status=503, after_delivery=True)
    with pytest.raises(TransientEmailError):
        transport.send(_message())
    assert len(fake_resend.deliveries) == 1  # Resend had accepted it

    result = transport.send(_message())
    assert result.provider_id == fake_resend.deliveries[0].id and len(fake_resend.deliveries) == 1


def test_a_read_timeout_is_transient_and_the_retry_returns_the_first_id(fake_resend: FakeResend) -> None:
    transport = _transport(fake_resend, read_timeout=0.2)
    fake_resend.stall_next(0.8)
    with pytest.raises(TransientEmailError) as caught:
        transport.send(_message())
    assert caught.value.code == "network_error" and "ReadTimeout" in str(caught.value)
    assert caught.value.status is None

    result = transport.send(_message())
    assert result.provider_id == fake_resend.deliveries[0].id and len(fake_resend.deliveries) == 1


def test_rate_limit_carries_retry_after(fake_resend: FakeResend) -> None:
    transport = _transport(fake_resend)
    fake_resend.fail_next(status=429, retry_after="7")
    with pytest.raises(TransientEmailError) as caught:
        transport.send(_message())
    assert caught.value.status == 429 and caught.value.code == "rate_limit_exceeded"
    assert caught.value.retry_after_seconds == 7.0

    fake_resend.fail_next(status=429)  # same setup, no header: no hint
    with pytest.raises(TransientEmailError) as caught:
        transport.send(_message())
    assert caught.value.retry_after_seconds is None

    assert transport.send(_message()).provider_id == fake_resend.deliveries[0].id


def test_daily_quota_is_transient_too(fake_resend: FakeResend) -> None:
    fake_resend.fail_next(status=429, name="daily_quota_exceeded", retry_after="3600")
    with pytest.raises(TransientEmailError) as caught:
        _transport(fake_resend).send(_message())
    assert caught.value.code == "daily_quota_exceeded" and caught.value.retry_after_seconds == 3600.0


def test_a_non_json_gateway_error_is_transient(fake_resend: FakeResend) -> None:
    fake_resend.fail_next(status=502, json_body=False, retry_after="2")
    with pytest.raises(TransientEmailError) as caught:
        _transport(fake_resend).send(_message())
    assert caught.value.status == 502 and caught.value.retry_after_seconds == 2.0
    assert _transport(fake_resend).send(_message()).provider_id


def test_a_concurrent_request_with_the_same_key_is_transient(fake_resend: FakeResend) -> None:
    fake_resend.fail_next(status=409, name="concurrent_idempotent_requests")
    with pytest.raises(TransientEmailError) as caught:
        _transport(fake_resend).send(_message())
    assert caught.value.status == 409
    assert _transport(fake_resend).send(_message()).provider_id


def test_the_same_key_with_another_payload_is_permanent(fake_resend: FakeResend) -> None:
    transport = _transport(fake_resend)
    transport.send(_message("outbox-0009"))
    with pytest.raises(PermanentEmailError) as caught:
        transport.send(_message("outbox-0009", link_token="tok_other"))
    assert not isinstance(caught.value, EmailConfigurationError)
    assert caught.value.status == 409 and caught.value.code == "invalid_idempotent_request"
    assert len(fake_resend.deliveries) == 1


def test_a_validation_error_is_permanent_for_the_message(fake_resend: FakeResend) -> None:
    fake_resend.fail_next(status=422, name="validation_error")
    with pytest.raises(PermanentEmailError) as caught:
        _transport(fake_resend).send(_message())
    assert not isinstance(caught.value, (EmailConfigurationError, TransientEmailError))
    assert caught.value.status == 422 and caught.value.code == "validation_error"
    _assert_leaks_nothing(caught.value, fake_resend.api_key)


def test_a_wrong_api_key_is_a_configuration_error(fake_resend: FakeResend) -> None:
    wrong_key = "re_wrong_" + "w" * 24
    with pytest.raises(EmailConfigurationError) as caught:
        _transport(fake_resend, api_key=wrong_key).send(_message())
    assert isinstance(caught.value, PermanentEmailError)
    assert caught.value.status == 403 and caught.value.code == "invalid_api_key"
    assert fake_resend.deliveries == []
    _assert_leaks_nothing(caught.value, wrong_key)
    # Positive case under the same setup: the right key delivers.
    assert _transport(fake_resend).send(_message()).provider_id == fake_resend.deliveries[0].id


def test_a_wrong_api_url_is_a_configuration_error(fake_resend: FakeResend) -> None:
    transport = ResendTransport(fake_resend.api_key, SENDER, fake_resend.url + "/v0")
    with pytest.raises(EmailConfigurationError) as caught:
        transport.send(_message())
    assert caught.value.status == 404
    assert ResendTransport(fake_resend.api_key, SENDER, fake_resend.url + "/").send(_message()).provider_id


def test_no_server_is_a_transient_network_error(fake_resend: FakeResend) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    transport = ResendTransport(fake_resend.api_key, SENDER, f"http://127.0.0.1:{closed_port}", connect_timeout=1)
    with pytest.raises(TransientEmailError) as caught:
        transport.send(_message())
    assert caught.value.code == "network_error" and "ConnectionError" in str(caught.value)
    _assert_leaks_nothing(caught.value, fake_resend.api_key)
    assert _transport(fake_resend).send(_message()).provider_id


@pytest.mark.parametrize(
    ("status", "name", "kind"),
    [
        (500, None, TransientEmailError),
        (429, None, TransientEmailError),
        (403, "invalid_api_key", EmailConfigurationError),
        (422, "validation_error", PermanentEmailError),
    ],
)
def test_error_messages_name_the_status_not_the_body_or_key(
    fake_resend: FakeResend, status: int, name: str | None, kind: type[EmailDeliveryError]
) -> None:
    fake_resend.fail_next(status=status, name=name)
    with pytest.raises(kind) as caught:
        _transport(fake_resend).send(_message())
    assert f"HTTP {status}" in str(caught.value)
    _assert_leaks_nothing(caught.value, fake_resend.api_key)


def test_two_transports_do_not_share_their_key(fake_resend: FakeResend) -> None:
    import resend

    before = (resend.api_key, resend.api_url, resend.default_http_client)
    good = _transport(fake_resend)
    bad = _transport(fake_resend, api_key="re_wrong_" + "w" * 24)
    assert good.send(_message("outbox-a")).provider_id
    with pytest.raises(EmailConfigurationError):
        bad.send(_message("outbox-b"))
    assert good.send(_message("outbox-c")).provider_id
    assert len(fake_resend.deliveries) == 2
    assert (resend.api_key, resend.api_url, resend.default_http_client) == before


@pytest.mark.parametrize("api_key", ["", "   ", " re_padded_key", "re_key\nX-Injected: 1"])
def test_a_missing_or_malformed_api_key_is_refused_at_construction(api_key: str) -> None:
    with pytest.raises(ValueError, match="API key"):
        ResendTransport(api_key, SENDER)
    assert ResendTransport("re_valid_key_123", SENDER)


@pytest.mark.parametrize(
    "api_url", ["http://api.resend.com", "ftp://127.0.0.1", "https://user:pw@api.resend.com", "https://"]
)
def test_the_api_url_must_be_https_except_on_loopback(api_url: str) -> None:
    with pytest.raises(ValueError, match="API URL"):
        ResendTransport("re_valid_key_123", SENDER, api_url)
    assert ResendTransport("re_valid_key_123", SENDER, "https://api.resend.com")
    assert ResendTransport("re_valid_key_123", SENDER, "http://127.0.0.1:8025")


def test_sender_must_be_an_address() -> None:
    with pytest.raises(ValueError, match="sender"):
        ResendTransport("re_valid_key_123", "Zentro")
    assert ResendTransport("re_valid_key_123", SENDER)


def test_repr_hides_the_key() -> None:
    assert "re_valid_key_123" not in repr(ResendTransport("re_valid_key_123", SENDER))
