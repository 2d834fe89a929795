"""What a transport delivers, what it answers, and how it fails.

The outbox drain hands one `OutgoingEmail` at a time to an `EmailTransport` and reads one of
three outcomes:

- a `DeliveryResult`: the provider accepted the message (its id is worth storing);
- `TransientEmailError`: nothing is known to be wrong with the message; retry it later, with the
  same idempotency key (network error, timeout, HTTP 429 or 5xx, a concurrent request with the
  same key). `retry_after_seconds` carries the provider's Retry-After when it sent one;
- `PermanentEmailError`: retrying this message will fail the same way (the provider rejected
  it). Its subclass `EmailConfigurationError` means the transport itself is misconfigured
  (API key missing or rejected, sender domain not verified, wrong API URL): every message would
  fail the same way, so the drain should stop and alert rather than give up on the messages.

Error messages name the provider's status and error code, never the message body, its
recipient or the API key: they end up in logs and in the outbox row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Protocol

# One bare address; display names belong to the sender only.
_ADDRESS = re.compile(r'^[^@\s<>,;:"()\[\]\\]+@[^@\s<>,;:"()\[\]\\]+\.[^@\s<>,;:"()\[\]\\]+$')
# Resend: 1-256 characters; it travels as an HTTP header, so visible ASCII only.
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,256}$")
# Resend's rule for tag names and values.
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One rendered message for one recipient, with the key that makes sending it idempotent.

    `idempotency_key` must be stable across retries of the same message (the outbox row id) and
    the other fields must be byte-identical on every retry: Resend answers a reused key with a
    different payload with 409 `invalid_idempotent_request`.
    """

    to: str
    subject: str
    text: str = field(repr=False)
    html: str = field(repr=False)
    idempotency_key: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.to) > 320 or not _ADDRESS.match(self.to):
            raise ValueError("recipient must be one bare email address")
        if not self.subject.strip() or _CONTROL.search(self.subject):
            raise ValueError("subject must be one non-empty line")
        if not self.text.strip() or not self.html.strip():
            raise ValueError("both a text and an html body are required")
        if not _IDEMPOTENCY_KEY.match(self.idempotency_key):
            raise ValueError("idempotency key must be 1-256 visible ASCII characters")
        for name, value in self.tags.items():
            if not (_TAG.match(name) and _TAG.match(value)):
                raise ValueError("tag names and values must be 1-256 characters of A-Z a-z 0-9 _ -")
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The provider accepted the message; `provider_id` is its id there (or "local-<key>")."""

    provider_id: str


class EmailDeliveryError(Exception):
    """A message was not delivered. `status` is the provider's HTTP status, if it answered;
    `code` is its error name (e.g. `rate_limit_exceeded`) or ours (`network_error`,
    `unexpected_response`)."""

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class TransientEmailError(EmailDeliveryError):
    """Retry later with the same idempotency key."""

    def __init__(
        self, message: str, *, code: str, status: int | None = None, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after_seconds = retry_after_seconds


class PermanentEmailError(EmailDeliveryError):
    """The provider rejected this message; retrying it unchanged cannot succeed."""


class EmailConfigurationError(PermanentEmailError):
    """The transport is misconfigured: every message would fail like this one. Stop and alert;
    the messages themselves are not at fault."""


class EmailTransport(Protocol):
    def send(self, message: OutgoingEmail) -> DeliveryResult:
        """Deliver `message` once per idempotency key, or raise an `EmailDeliveryError`."""
        ...


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date, RFC 9110
    10.2.3); None when absent or unreadable. A date in the past gives 0."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # Not RFC-conformant, but some servers send fractions; never negative, NaN or infinite.
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate returns naive for "-0000"
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
