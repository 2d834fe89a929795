"""The signed-in user's organization and its security settings."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import TenantTx

_GET = text("SELECT id, name, slug, mfa_required FROM organizations WHERE id = :org")
_SET_MFA = text("UPDATE organizations SET mfa_required = :required WHERE id = :org")


@dataclass(frozen=True, slots=True)
class Organization:
    id: UUID
    name: str
    slug: str
    mfa_required: bool


def get(tx: TenantTx) -> Organization:
    row = tx.conn.execute(_GET, {"org": tx.ctx.org_id}).one()
    return Organization(id=row.id, name=row.name, slug=row.slug, mfa_required=row.mfa_required)


def set_mfa_required(tx: TenantTx, required: bool) -> Organization:
    """Require (or stop requiring) a second factor for ADMIN and SUPERVISOR accounts."""
    before = get(tx)
    if before.mfa_required != required:
        tx.conn.execute(_SET_MFA, {"org": tx.ctx.org_id, "required": required})
        audit.record(
            tx,
            "organization.mfa_requirement_changed",
            Target("organization", tx.ctx.org_id),
            before={"mfa_required": before.mfa_required},
            after={"mfa_required": required},
        )
    return get(tx)
