"""Local development without a Resend key: each message becomes an .eml file in a directory.

File name: `<UTC timestamp>-<key>.eml`, the timestamp as `20261124T101500.123456Z` (no dash in
it), the key as given when it is made of `A-Z a-z 0-9 . _` and `-` (up to 128 characters), else
`sha256-<hex digest of the key>`. Sending a key that already has a file writes nothing and
returns the same id, as Resend does within its 24-hour window. Files are written whole (a
temporary file renamed into place) and readable by their owner only: they hold live links.
Lines end in LF, as mail clients and `email.message_from_bytes` read them (with CRLF the
decoded text would carry CRs).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from lib.email.transport import DeliveryResult, OutgoingEmail

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalDirectoryTransport:
    def __init__(
        self,
        directory: Path,
        *,
        sender: str = "Zentro <no-reply@localhost>",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if "@" not in sender or not sender.isprintable():
            raise ValueError("sender must be an address such as 'Zentro <no-reply@localhost>'")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sender = sender
        self._clock = clock

    def __repr__(self) -> str:
        return f"LocalDirectoryTransport({str(self.directory)!r})"

    def send(self, message: OutgoingEmail) -> DeliveryResult:
        provider_id = f"local-{message.idempotency_key}"
        name_key = _file_key(message.idempotency_key)
        if self.path_for(message.idempotency_key) is not None:
            return DeliveryResult(provider_id=provider_id)

        now = self._clock().astimezone(UTC)
        path = self.directory / f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{name_key}.eml"
        data = _build(message, sender=self._sender, date=now, message_id_key=name_key).as_bytes()
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".partial-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return DeliveryResult(provider_id=provider_id)

    def path_for(self, idempotency_key: str) -> Path | None:
        """The file written for this key, if any."""
        name_key = _file_key(idempotency_key)
        for path in self.directory.glob("*.eml"):
            timestamp, dash, rest = path.name.partition("-")
            if dash and not timestamp.startswith(".") and rest == f"{name_key}.eml":
                return path
        return None


def _file_key(key: str) -> str:
    if _SAFE_KEY.match(key):
        return key
    return "sha256-" + hashlib.sha256(key.encode()).hexdigest()


def _build(message: OutgoingEmail, *, sender: str, date: datetime, message_id_key: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(date)
    email["Message-ID"] = f"<{message_id_key}@zentro.localhost>"
    email["X-Zentro-Idempotency-Key"] = message.idempotency_key
    if message.tags:
        email["X-Zentro-Tags"] = ", ".join(f"{name}={value}" for name, value in message.tags.items())
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email
