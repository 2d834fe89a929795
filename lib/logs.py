"""Structured logs: one JSON object per line, each carrying the request id.

JSON is the escaping: a user-controlled value with a newline or a forged "level" inside it stays
a string inside one line (log injection, ASVS V16.4.1). The request id comes from a context
variable that the request middleware sets, so every line written while serving a request names
it without anyone passing it around. Messages, extra fields and tracebacks go through
lib.redaction first: no password, token or customer contact detail reaches a log line.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from lib.redaction import scrub, scrub_string

request_id_var: ContextVar[str | None] = ContextVar("zentro_request_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

security_log = logging.getLogger("zentro.security")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub_string(record.getMessage()),
            "request_id": request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = scrub({key: value})[key]
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = scrub_string(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler[Any]):
    """Writes to whatever sys.stdout is at the time of the call (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


_configured = False


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stdout as JSON. Idempotent; Vercel collects stdout."""
    global _configured
    if _configured:
        return
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _configured = True
