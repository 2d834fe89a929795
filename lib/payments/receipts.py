"""Operation numbers and the search for receipts used twice.

Fake-receipt apps produce screenshots that look right; what they cannot produce is a fresh
operation number for a transfer that never happened, so they reuse real ones. An operation
number already used in the organization for the same method flags the payment, and so does a
proof file another payment already carried (the same screenshot sent for two orders).

Operation numbers are compared in one canonical form: upper case, without spaces or dashes,
and, when they are all digits, without leading zeros ("00 1234-56" and "123456" are one
receipt). The canonical form is what is stored.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import text

from lib.db import TenantTx

_SEPARATORS = re.compile(r"[\s\-]+")
_CANONICAL = re.compile(r"^[A-Z0-9]{1,40}$")

_SAME_OPERATION = text(
    """
    SELECT id FROM payments
    WHERE org_id = :org AND method = :method AND operation_number = :number AND id <> :id AND kind = 'payment'
    ORDER BY created_at, id LIMIT 1
    """
)
_SAME_FILE = text(
    """
    SELECT id FROM payments
    WHERE org_id = :org AND proof_original_sha256 = :sha AND id <> :id
    ORDER BY created_at, id LIMIT 1
    """
)


def canonical_operation_number(raw: str) -> str | None:
    """The stored form of an operation number, or None when it cannot be one."""
    number = _SEPARATORS.sub("", raw.strip().upper())
    if number.isdigit():
        number = number.lstrip("0") or "0"
    return number if _CANONICAL.match(number) else None


def lock_operation(tx: TenantTx, method: str, number: str) -> None:
    """Serialise payments of one (organization, method, number) until the transaction ends, so
    two payments with the same receipt recorded at once still see each other."""
    tx.lock_key(f"receipt:{method}:{number}")


def same_operation(tx: TenantTx, payment_id: uuid.UUID, method: str, number: str | None) -> uuid.UUID | None:
    """The first other payment of the organization with this method and operation number."""
    if number is None:
        return None
    params = {"org": tx.ctx.org_id, "method": method, "number": number, "id": payment_id}
    found = tx.conn.execute(_SAME_OPERATION, params).scalar_one_or_none()
    return uuid.UUID(str(found)) if found is not None else None


def same_file(tx: TenantTx, payment_id: uuid.UUID, original_sha256: str | None) -> uuid.UUID | None:
    """The first other payment whose proof was this very file."""
    if original_sha256 is None:
        return None
    params = {"org": tx.ctx.org_id, "sha": original_sha256, "id": payment_id}
    found = tx.conn.execute(_SAME_FILE, params).scalar_one_or_none()
    return uuid.UUID(str(found)) if found is not None else None
