"""Staff accounts of an organization, and the rules for managing them.

Every function takes the tenant transaction first and reads or writes only that organization's
rows (the SQL filters by org_id; row-level security enforces it again). Another organization's
user is "not found", exactly like a user that does not exist.

Rules an ADMIN cannot break: nobody changes their own role or deactivates themselves, and an
organization never loses its last active ADMIN. The active admins are locked (`FOR NO KEY
UPDATE`) while that is checked, so two admins demoting each other at once cannot both succeed.
Role changes and deactivation end the user's sessions at once.

Inviting answers the same whatever other organizations hold: an address can have one account
(login is by email alone), but an invitation is a row of its own organization, so it is always
created. When the address already has an account elsewhere, its owner gets a notice instead of a
link (the invitation cannot be accepted while that account exists); the same statements run and
one email is queued either way, so neither the answer nor its cost says which happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from lib import audit
from lib.audit import Target
from lib.auth import one_time_tokens, sessions
from lib.auth.one_time_tokens import Purpose
from lib.db import TenantTx
from lib.email.outbox import enqueue_email
from lib.email.templates import role_label
from lib.http.errors import ApiError, object_not_found
from lib.tenancy import Role

# ASCII addresses only: what Peruvian merchants' staff use, and what every mail system accepts.
# The same pattern is the API schema's (api/users/index.py), so the two cannot disagree.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"
_EMAIL = re.compile(EMAIL_PATTERN)

_COLUMNS = "id, email, full_name, role, status, language, mfa_enabled_at, created_at"
_GET = text(f"SELECT {_COLUMNS} FROM users WHERE org_id = :org AND id = :id")
_GET_FOR_UPDATE = text(f"SELECT {_COLUMNS} FROM users WHERE org_id = :org AND id = :id FOR NO KEY UPDATE")
_LIST = text(f"SELECT {_COLUMNS} FROM users WHERE org_id = :org ORDER BY lower(full_name), email")
_ACTIVE_ADMINS = text(
    "SELECT id FROM users WHERE org_id = :org AND role = 'ADMIN' AND status = 'active' ORDER BY id FOR NO KEY UPDATE"
)
_INSERT = text(
    f"""
    INSERT INTO users (org_id, email, full_name, role, status, language)
    VALUES (:org, :email, :full_name, :role, 'invited', :language)
    RETURNING {_COLUMNS}
    """
)
_SET_ROLE = text("UPDATE users SET role = :role, updated_at = :now WHERE org_id = :org AND id = :id")
_SET_STATUS = text("UPDATE users SET status = :status, updated_at = :now WHERE org_id = :org AND id = :id")
_ORG_NAME = text("SELECT name FROM organizations WHERE id = :org")
# Whether the address is an account (in any organization): invitations and acceptance ask.
ACCOUNT_FOR_EMAIL = text("SELECT org_id FROM auth_login_candidate(:email)")


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    email: str
    full_name: str
    role: Role
    status: str
    language: str
    mfa_enabled: bool
    created_at: datetime

    def audit_view(self) -> dict[str, object]:
        return {"email": self.email, "role": self.role.value, "status": self.status}


def _user(row: object) -> User:
    return User(
        id=row.id,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        full_name=row.full_name,  # type: ignore[attr-defined]
        role=Role(row.role),  # type: ignore[attr-defined]
        status=row.status,  # type: ignore[attr-defined]
        language=row.language,  # type: ignore[attr-defined]
        mfa_enabled=row.mfa_enabled_at is not None,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )


def normalise_email(email: str) -> str | None:
    """Lower-cased and trimmed, or None when it is not an email address."""
    email = email.strip().lower()
    return email if len(email) <= 254 and _EMAIL.match(email) else None


def get(tx: TenantTx, user_id: UUID, *, for_update: bool = False) -> User:
    row = tx.conn.execute(_GET_FOR_UPDATE if for_update else _GET, {"org": tx.ctx.org_id, "id": user_id}).one_or_none()
    if row is None:
        raise object_not_found("user", user_id, tx.ctx.actor.user_id)
    return _user(row)


def list_users(tx: TenantTx) -> list[User]:
    return [_user(row) for row in tx.conn.execute(_LIST, {"org": tx.ctx.org_id})]


def organization_name(tx: TenantTx) -> str:
    return str(tx.conn.execute(_ORG_NAME, {"org": tx.ctx.org_id}).scalar_one())


def invite(
    tx: TenantTx,
    *,
    email: str,
    role: Role,
    full_name: str,
    language: str,
    app_base_url: str,
    now: datetime,
) -> User:
    normalised = normalise_email(email)
    if normalised is None:
        raise ApiError("invalid_email", 422)
    try:
        with tx.conn.begin_nested():
            row = tx.conn.execute(
                _INSERT,
                {
                    "org": tx.ctx.org_id,
                    "email": normalised,
                    "full_name": full_name.strip(),
                    "role": role.value,
                    "language": language,
                },
            ).one()
    except IntegrityError:
        # A user of this very organization (its own list shows it): nothing about any other.
        raise ApiError("email_unavailable", 409) from None
    user = _user(row)
    _send_invitation(tx, user, app_base_url, now)
    audit.record(tx, "user.invited", Target("user", user.id), after=user.audit_view())
    return user


def resend_invitation(tx: TenantTx, user_id: UUID, app_base_url: str, now: datetime) -> User:
    """A fresh invitation link for a user who has not accepted yet; earlier links stop working."""
    user = get(tx, user_id, for_update=True)
    if user.status != "invited":
        raise ApiError("user_not_invited", 409)
    _send_invitation(tx, user, app_base_url, now)
    audit.record(tx, "user.invitation_resent", Target("user", user.id), after={"email": user.email})
    return user


def _inviter_name(tx: TenantTx) -> str:
    """How the invitation names who sent it: the acting ADMIN's name, or their email."""
    actor = tx.ctx.actor.user_id
    if actor is None:
        return ""
    inviter = get(tx, actor)
    return inviter.full_name or inviter.email


def _send_invitation(tx: TenantTx, user: User, app_base_url: str, now: datetime) -> None:
    """Queue the invitation, or, when the address has an account elsewhere, a notice to its owner:
    the same statements and one email either way (see the module docstring)."""
    elsewhere = tx.conn.execute(ACCOUNT_FOR_EMAIL, {"email": user.email}).scalar_one_or_none()
    token = one_time_tokens.issue(tx, user.id, Purpose.INVITATION, now)
    params = {"org_name": organization_name(tx), "inviter_name": _inviter_name(tx)}
    if elsewhere is None:
        template = "invitation"
        params |= {
            "role_label": role_label(user.role.value, user.language),
            "link": f"{app_base_url}/invitation#token={token}",
            "expires_hours": str(int(one_time_tokens.LIFETIMES[Purpose.INVITATION].total_seconds() // 3600)),
        }
    else:
        template = "invitation_unavailable"
    enqueue_email(tx, to=user.email, template=template, language=user.language, params=params, now=now)


def _refuse_self(tx: TenantTx, target: User, code: str) -> None:
    if tx.ctx.actor.user_id == target.id:
        raise ApiError(code, 409)


def _lock_active_admins(tx: TenantTx) -> list[UUID]:
    """Lock the organization's active admins, always first and in id order, so two concurrent
    changes serialize instead of deadlocking, and the second sees what the first did."""
    return [row.id for row in tx.conn.execute(_ACTIVE_ADMINS, {"org": tx.ctx.org_id})]


def _require_another_admin(admins: list[UUID], target: User) -> None:
    if target.id in admins and len(admins) < 2:
        raise ApiError("last_admin", 409)


def change_role(tx: TenantTx, user_id: UUID, role: Role, now: datetime) -> User:
    admins = _lock_active_admins(tx)
    target = get(tx, user_id, for_update=True)
    _refuse_self(tx, target, "cannot_change_own_role")
    if target.role == role:
        return target
    _require_another_admin(admins, target)
    tx.conn.execute(_SET_ROLE, {"org": tx.ctx.org_id, "id": target.id, "role": role.value, "now": now})
    sessions.revoke_user_sessions(tx, target.id, "role_changed", now)
    updated = get(tx, target.id)
    audit.record(
        tx,
        "user.role_changed",
        Target("user", target.id),
        before={"role": target.role.value},
        after={"role": role.value},
    )
    return updated


def set_active(tx: TenantTx, user_id: UUID, active: bool, now: datetime) -> User:
    admins = _lock_active_admins(tx)
    target = get(tx, user_id, for_update=True)
    _refuse_self(tx, target, "cannot_deactivate_self")
    if active:
        if target.status != "deactivated":
            return target
        # Someone who never accepted their invitation goes back to "invited", not "active".
        status = "active" if _has_password(tx, target.id) else "invited"
        action = "user.reactivated"
    else:
        if target.status == "deactivated":
            return target
        _require_another_admin(admins, target)
        status = "deactivated"
        action = "user.deactivated"
        sessions.revoke_user_sessions(tx, target.id, "deactivated", now)
    tx.conn.execute(_SET_STATUS, {"org": tx.ctx.org_id, "id": target.id, "status": status, "now": now})
    audit.record(tx, action, Target("user", target.id), before={"status": target.status}, after={"status": status})
    return get(tx, target.id)


def _has_password(tx: TenantTx, user_id: UUID) -> bool:
    return bool(
        tx.conn.execute(
            text("SELECT password_hash IS NOT NULL FROM users WHERE org_id = :org AND id = :id"),
            {"org": tx.ctx.org_id, "id": user_id},
        ).scalar_one()
    )
