"""Single-use tokens with a purpose: invitations and password resets.

A token is 256 random bits, handed out once (inside an email link's fragment, never a query
string) and stored only as its SHA-256. Each has a purpose and an expiry: an invitation token
cannot reset a password and vice versa, because lookups match the purpose. Issuing a new token
of a purpose voids the user's earlier ones; redeeming marks it used in the same transaction as
the change it authorises, so it works exactly once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from sqlalchemy import text

from lib.db import TenantTx, unscoped_transaction


class Purpose(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a password


LIFETIMES = {Purpose.INVITATION: timedelta(days=7), Purpose.PASSWORD_RESET: timedelta(hours=1)}
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")

_VOID_EARLIER = text(
    "UPDATE auth_tokens SET used_at = :now "
    "WHERE org_id = :org AND user_id = :user AND purpose = :purpose AND used_at IS NULL"
)
_ISSUE = text(
    "INSERT INTO auth_tokens (org_id, user_id, purpose, token_hash, created_at, expires_at) "
    "VALUES (:org, :user, :purpose, :hash, :now, :expires)"
)
_FIND = text("SELECT token_id, org_id, user_id FROM auth_find_token(:hash, :purpose, :now)")
_REDEEM = text(
    "UPDATE auth_tokens SET used_at = :now WHERE org_id = :org AND id = :id AND used_at IS NULL AND expires_at > :now"
)


@dataclass(frozen=True, slots=True)
class TokenRef:
    token_id: UUID
    org_id: UUID
    user_id: UUID


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(tx: TenantTx, user_id: UUID, purpose: Purpose, now: datetime) -> str:
    params = {"org": tx.ctx.org_id, "user": user_id, "purpose": purpose.value, "now": now}
    tx.conn.execute(_VOID_EARLIER, params)
    token = secrets.token_urlsafe(32)
    tx.conn.execute(_ISSUE, {**params, "hash": _hash(token), "expires": now + LIFETIMES[purpose]})
    return token


def find(token: str, purpose: Purpose, now: datetime) -> TokenRef | None:
    """The account a live token of this purpose belongs to; None for anything else."""
    if not _SHAPE.match(token):
        return None
    with unscoped_transaction() as conn:
        row = conn.execute(_FIND, {"hash": _hash(token), "purpose": purpose.value, "now": now}).one_or_none()
    return TokenRef(row.token_id, row.org_id, row.user_id) if row else None


def redeem(tx: TenantTx, ref: TokenRef, now: datetime) -> bool:
    """Mark the token used; False if it was used or expired meanwhile (a concurrent redemption)."""
    return bool(tx.conn.execute(_REDEEM, {"org": tx.ctx.org_id, "id": ref.token_id, "now": now}).rowcount)
