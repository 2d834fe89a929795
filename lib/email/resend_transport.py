"""Delivery through Resend's API with the official SDK (`resend` 2.x).

The SDK is imported when a `ResendTransport` is built, never when this module is: it pulls in
`requests` and ~100 modules, and only the cron function that drains the outbox should pay for
that. The SDK keeps its settings in module globals (`resend.api_key`, `resend.api_url`,
`resend.default_http_client`) and reads them during each call, so `send` sets them under a
process-wide lock and restores them afterwards: two transports never see each other's key.

How the SDK reports failures (resend 2.52, read from its source) and what they become here:

- no HTTP response (refused, reset, DNS, TLS, timeout): our HTTP client raises `NetworkFailure`,
  `request.py` `make_request` wraps it in `ResendError(code=500, error_type="HttpClientError")`
  -> `TransientEmailError(code="network_error")`;
- an HTTP error status: `request.py` `perform` takes the HTTP status (or, on a 2xx, the body's
  `statusCode`) and `exceptions.py` `raise_for_code_and_type` raises a `ResendError` subclass
  with `.code` = that status, `.error_type` = the body's `name`, `.headers` = the response
  headers; a non-JSON body keeps the status (`make_request`, "Expected JSON response");
- 429 (rate limit, daily or monthly quota), 408, 5xx, and 409 `concurrent_idempotent_requests`
  -> `TransientEmailError`, with Retry-After from `.headers` when present;
- 401, 403, 404, 405, or a configuration error name (`invalid_api_key`, `invalid_from_address`,
  ...) -> `EmailConfigurationError`: the key, the sender's domain or the API URL is wrong, and
  every message would fail alike;
- any other 4xx (validation, 409 `invalid_idempotent_request`) -> `PermanentEmailError`.

The provider's free-text message is dropped: only its status and error name (checked to look
like an identifier) reach our exceptions, so nothing it echoes can leak into logs.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lib.email.transport import (
    DeliveryResult,
    EmailConfigurationError,
    EmailDeliveryError,
    OutgoingEmail,
    PermanentEmailError,
    TransientEmailError,
    parse_retry_after,
)

if TYPE_CHECKING:
    from resend.exceptions import ResendError

DEFAULT_API_URL = "https://api.resend.com"

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_ERROR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CONFIGURATION_STATUSES = frozenset({401, 403, 404, 405})
_CONFIGURATION_CODES = frozenset(
    {
        "missing_api_key",
        "invalid_api_key",
        "restricted_api_key",
        "invalid_from_address",
        "invalid_access",
        "invalid_region",
        "not_found",
        "method_not_allowed",
    }
)
_TRANSIENT_STATUSES = frozenset({408, 429})
_TRANSIENT_CODES = frozenset({"concurrent_idempotent_requests"})

_sdk_lock = threading.Lock()


class ResendTransport:
    """Send through Resend. `sender` is the From header, e.g. "Zentro <no-reply@zentro.one>";
    `api_url` defaults to Resend's and may be plain http only on a loopback host (a local fake).
    """

    def __init__(
        self,
        api_key: str,
        sender: str,
        api_url: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
    ) -> None:
        if not api_key or not api_key.strip() or api_key != api_key.strip() or not api_key.isprintable():
            # The SDK would send "Authorization: Bearer None" and fail on every message.
            raise ValueError("a Resend API key is required")
        if "@" not in sender or not sender.isprintable():
            raise ValueError("sender must be an address such as 'Zentro <no-reply@zentro.one>'")
        if not (0 < connect_timeout <= 60 and 0 < read_timeout <= 60):
            raise ValueError("timeouts must be between 0 and 60 seconds")
        self._api_key = api_key
        self._sender = sender
        self._api_url = _checked_api_url(api_url or DEFAULT_API_URL)

        import resend  # noqa: F401  # the heavy import, paid once, here

        from lib.email._resend_http import SessionClient

        self._client = SessionClient(connect_timeout=connect_timeout, read_timeout=read_timeout)

    def __repr__(self) -> str:
        return f"ResendTransport(api_url={self._api_url!r}, sender={self._sender!r})"

    def send(self, message: OutgoingEmail) -> DeliveryResult:
        import resend
        from resend.exceptions import NoContentError, ResendError

        params: resend.Emails.SendParams = {
            "from": self._sender,
            "to": [message.to],
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
        }
        if message.tags:
            params["tags"] = [{"name": name, "value": value} for name, value in message.tags.items()]
        options: resend.Emails.SendOptions = {"idempotency_key": message.idempotency_key}

        error: EmailDeliveryError | None = None
        with _sdk_lock:
            saved = (resend.api_key, resend.api_url, resend.default_http_client)
            resend.api_key, resend.api_url, resend.default_http_client = self._api_key, self._api_url, self._client
            try:
                response = resend.Emails.send(params, options)
            except ResendError as exc:
                error = _translate(exc)
            except NoContentError:
                error = TransientEmailError("Resend answered without content", code="unexpected_response")
            finally:
                resend.api_key, resend.api_url, resend.default_http_client = saved
        if error is not None:
            # Raised outside the except block: the SDK's exception (its message can echo the
            # provider's text or the URL) is not chained into ours.
            raise error
        provider_id = response.get("id") if isinstance(response, dict) else None
        if not isinstance(provider_id, str) or not provider_id:
            raise TransientEmailError("Resend answered without an email id", code="unexpected_response")
        return DeliveryResult(provider_id=provider_id)

    def close(self) -> None:
        """Close the kept-alive connection (optional: it is closed when collected)."""
        self._client.close()


def _checked_api_url(url: str) -> str:
    parts = urlsplit(url)
    loopback = parts.hostname in _LOOPBACK_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("the Resend API URL must be https:// (plain http only on a loopback host)")
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("the Resend API URL must be a base URL such as https://api.resend.com")
    return url.rstrip("/")


def _translate(exc: ResendError) -> EmailDeliveryError:
    from lib.email._resend_http import NetworkFailure, RedirectRefused

    cause = exc.__context__
    if isinstance(cause, NetworkFailure):
        return TransientEmailError(f"Resend unreachable ({cause.kind})", code="network_error")
    if isinstance(cause, RedirectRefused):
        return EmailConfigurationError(
            f"the Resend API URL answered with a redirect ({cause})", code="redirect", status=cause.status
        )

    status = _status(exc.code)
    name = exc.error_type if isinstance(exc.error_type, str) and _ERROR_NAME.match(exc.error_type) else "unknown"
    if status is None:
        return TransientEmailError(f"Resend answered an unreadable status ({name})", code=name)
    described = f"HTTP {status} {name}"
    if status in _TRANSIENT_STATUSES or status >= 500 or name in _TRANSIENT_CODES:
        retry_after = parse_retry_after(_header(exc.headers, "retry-after"))
        return TransientEmailError(
            f"Resend is unavailable or rate limiting: {described}",
            code=name,
            status=status,
            retry_after_seconds=retry_after,
        )
    if status in _CONFIGURATION_STATUSES or name in _CONFIGURATION_CODES:
        return EmailConfigurationError(
            f"Resend refused the configuration (API key, sender domain or API URL): {described}",
            code=name,
            status=status,
        )
    if 400 <= status < 500:
        return PermanentEmailError(f"Resend rejected the message: {described}", code=name, status=status)
    # 1xx-3xx reported as an error: the body was not the JSON the SDK expects.
    return TransientEmailError(f"Resend answered unexpectedly: {described}", code=name, status=status)


def _status(code: object) -> int | None:
    try:
        status = int(str(code))
    except ValueError:
        return None
    return status if 100 <= status <= 599 else None


def _header(headers: object, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None
