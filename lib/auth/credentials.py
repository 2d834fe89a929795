"""The secret parts of an account: its password hash and its second factor.

Kept apart from lib/users (which serves the admin-facing view) so that no listing or profile
query ever selects a hash or a seed. The TOTP seed is sealed (AES-256-GCM, lib/crypto) with its
organization, row and column as associated data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text

from lib.crypto import SealContext
from lib.db import TenantTx
from lib.key_ring import current_key_ring
from lib.sealed_columns import MFA_SECRET

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper

_GET = text(
    """
    SELECT u.email, u.full_name, u.role, u.status, u.language, u.password_hash, u.mfa_secret,
           u.mfa_enabled_at, u.mfa_last_step, o.name AS org_name, o.mfa_required AS org_mfa_required
    FROM users u JOIN organizations o ON o.id = u.org_id
    WHERE u.org_id = :org AND u.id = :id
    FOR NO KEY UPDATE OF u
    """
)
_SET_PASSWORD = text(
    "UPDATE users SET password_hash = :hash, password_changed_at = :now, updated_at = :now "
    "WHERE org_id = :org AND id = :id"
)
_SET_SECRET = text("UPDATE users SET mfa_secret = :secret, updated_at = :now WHERE org_id = :org AND id = :id")
_ENABLE_MFA = text(
    "UPDATE users SET mfa_enabled_at = :now, mfa_last_step = :step, updated_at = :now WHERE org_id = :org AND id = :id"
)
_CLEAR_MFA = text(
    "UPDATE users SET mfa_secret = NULL, mfa_enabled_at = NULL, mfa_last_step = 0, updated_at = :now "
    "WHERE org_id = :org AND id = :id"
)
_ADVANCE_STEP = text(
    "UPDATE users SET mfa_last_step = :step WHERE org_id = :org AND id = :id AND mfa_last_step < :step"
)
_DELETE_CODES = text("DELETE FROM mfa_recovery_codes WHERE org_id = :org AND user_id = :id")
_INSERT_CODE = text("INSERT INTO mfa_recovery_codes (org_id, user_id, code_hash) VALUES (:org, :id, :hash)")
_USE_CODE = text(
    "UPDATE mfa_recovery_codes SET used_at = :now "
    "WHERE org_id = :org AND user_id = :id AND code_hash = :hash AND used_at IS NULL"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    email: str
    full_name: str
    role: str
    status: str
    language: str
    password_hash: str | None
    mfa_secret: bytes | None
    mfa_enabled: bool
    mfa_last_step: int
    org_name: str
    org_mfa_required: bool


def load(tx: TenantTx, user_id: UUID) -> Credentials | None:
    """The account's secrets, row-locked for the rest of the transaction."""
    row = tx.conn.execute(_GET, {"org": tx.ctx.org_id, "id": user_id}).one_or_none()
    if row is None:
        return None
    return Credentials(
        email=row.email,
        full_name=row.full_name,
        role=row.role,
        status=row.status,
        language=row.language,
        password_hash=row.password_hash,
        mfa_secret=bytes(row.mfa_secret) if row.mfa_secret is not None else None,
        mfa_enabled=row.mfa_enabled_at is not None,
        mfa_last_step=row.mfa_last_step,
        org_name=row.org_name,
        org_mfa_required=row.org_mfa_required,
    )


def set_password_hash(tx: TenantTx, user_id: UUID, password_hash: str, now: datetime) -> None:
    tx.conn.execute(_SET_PASSWORD, {"org": tx.ctx.org_id, "id": user_id, "hash": password_hash, "now": now})


def _seal_context(tx: TenantTx, user_id: UUID) -> SealContext:
    return MFA_SECRET.context(tx.ctx.org_id, user_id)


def store_mfa_secret(tx: TenantTx, user_id: UUID, secret: str, now: datetime) -> None:
    sealed = current_key_ring().seal_text(secret, _seal_context(tx, user_id))
    tx.conn.execute(_SET_SECRET, {"org": tx.ctx.org_id, "id": user_id, "secret": sealed, "now": now})


def open_mfa_secret(tx: TenantTx, user_id: UUID, sealed: bytes) -> str:
    return current_key_ring().open_text(sealed, _seal_context(tx, user_id))


def enable_mfa(tx: TenantTx, user_id: UUID, step: int, now: datetime) -> None:
    tx.conn.execute(_ENABLE_MFA, {"org": tx.ctx.org_id, "id": user_id, "step": step, "now": now})


def clear_mfa(tx: TenantTx, user_id: UUID, now: datetime) -> None:
    tx.conn.execute(_CLEAR_MFA, {"org": tx.ctx.org_id, "id": user_id, "now": now})
    tx.conn.execute(_DELETE_CODES, {"org": tx.ctx.org_id, "id": user_id})


def advance_mfa_step(tx: TenantTx, user_id: UUID, step: int) -> bool:
    """Record the step of an accepted code; False if that step (or a later one) was used already."""
    return bool(tx.conn.execute(_ADVANCE_STEP, {"org": tx.ctx.org_id, "id": user_id, "step": step}).rowcount)


def _recovery_hash(pepper: str, code: str) -> bytes:
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return hmac.new(pepper.encode(), b"recovery:" + normalised.encode(), hashlib.sha256).digest()


def replace_recovery_codes(tx: TenantTx, user_id: UUID, pepper: str) -> list[str]:
    """Ten fresh single-use codes (about 50 bits each); the old ones stop working."""
    tx.conn.execute(_DELETE_CODES, {"org": tx.ctx.org_id, "id": user_id})
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        tx.conn.execute(_INSERT_CODE, {"org": tx.ctx.org_id, "id": user_id, "hash": _recovery_hash(pepper, raw)})
    return codes


def use_recovery_code(tx: TenantTx, user_id: UUID, code: str, pepper: str, now: datetime) -> bool:
    params = {"org": tx.ctx.org_id, "id": user_id, "hash": _recovery_hash(pepper, code), "now": now}
    return bool(tx.conn.execute(_USE_CODE, params).rowcount)
