"""What never leaves in a log line or a monitoring event: credentials and contact data.

One list of sensitive key names and one string scrubber, shared by the JSON log formatter and
the Sentry `before_send` hook, so the two cannot disagree about what is secret.
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"

# Credentials and session material: never stored outside their own sealed columns, never logged,
# never in an audit row.
CREDENTIAL_KEYS = frozenset(
    {
        "password",
        "passwd",
        "current_password",
        "new_password",
        "secret",
        "token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "set_cookie",
        "session",
        "csrf",
        "credentials",
        "private_key",
        "privatekey",
        "totp",
        "otp",
        "code",
        "recovery_code",
        "pepper",
        "key",
    }
)

# Customer contact data and client addresses: kept in the database (and, for accountability, in
# audit rows, which are purged after the retention period) but never sent to logs or monitoring.
CONTACT_KEYS = frozenset(
    {
        "email",
        "phone",
        "mobile",
        "whatsapp",
        "dni",
        "ruc",
        "document",
        "document_number",
        "address",
        "address_line",
        "customer_name",
        "payer_name",
        "full_name",
        "x_forwarded_for",
        "x-forwarded-for",
        "x_real_ip",
        "x-real-ip",
        "x-vercel-forwarded-for",
    }
)

SENSITIVE_KEYS = CREDENTIAL_KEYS | CONTACT_KEYS

_STRING_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + FILTERED),
    (
        re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key|session|cookie)\b(\s*[=:]\s*)[^\s,;&]+"),
        r"\1\2" + FILTERED,
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # Phone and document numbers: 8+ digits (spaces and dashes allowed inside), not part of a
    # longer word or dashed token, so hex ids, UUIDs and codes like ord-20261124 are left alone.
    (re.compile(r"(?<![\w+\-])\+?\d[\d \-]{6,}\d(?![\w\-])"), "[number]"),
)

# Identifiers we generate (request, trace, span, event ids): hex or UUIDs, never personal data,
# and useless once masked.
_IDENTIFIER = re.compile(r"^[0-9a-f]{8,64}$|^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
_IDENTIFIER_KEYS = frozenset({"request_id", "event_id", "trace_id", "span_id", "parent_span_id"})


def is_sensitive_key(key: str) -> bool:
    return key.lower() in SENSITIVE_KEYS


def scrub_string(value: str) -> str:
    """Mask bearer tokens, `password=...` pairs, emails and phone-like numbers in free text."""
    for pattern, replacement in _STRING_PATTERNS:
        value = pattern.sub(replacement, value)
    return value


def _scrub_item(key: Any, value: Any) -> Any:
    if not isinstance(key, str):
        return scrub(value)
    if is_sensitive_key(key):
        return FILTERED
    if key in _IDENTIFIER_KEYS and isinstance(value, str) and _IDENTIFIER.match(value):
        return value
    return scrub(value)


def scrub(node: Any) -> Any:
    """A copy of a JSON-like structure with sensitive keys filtered and strings scrubbed."""
    if isinstance(node, str):
        return scrub_string(node)
    if isinstance(node, dict):
        return {key: _scrub_item(key, value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [scrub(value) for value in node]
    return node
