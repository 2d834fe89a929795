"""Second factor: enrolling, proving, disabling and resetting TOTP (with recovery codes).

Enrolling is two steps: `begin` stores a new sealed seed and returns the provisioning URI for an
authenticator app; `confirm` turns it on only once the app produced a valid code, and returns
ten single-use recovery codes (shown once, stored hashed). Disabling needs the password and a
current code again; an organization that requires MFA for the user's role does not allow it.
An ADMIN can reset a user's second factor (lost phone): that ends all the user's sessions.
Every change sends the user a security alert and leaves an audit event.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from lib import audit
from lib.audit import Target
from lib.auth import credentials, sessions, totp, verifier
from lib.auth.credentials import Credentials
from lib.config import Settings
from lib.db import TenantTx
from lib.email.outbox import enqueue_email
from lib.http.errors import ApiError
from lib.permissions import MFA_REQUIRABLE_ROLES
from lib.tenancy import Role


def _alert(tx: TenantTx, creds: Credentials, change: str, now: datetime) -> None:
    enqueue_email(
        tx,
        to=creds.email,
        template="mfa_changed",
        language=creds.language,
        params={"change": change, "when": now.isoformat(timespec="seconds"), "ip": tx.ctx.request.client_ip or ""},
        now=now,
    )


def _own_credentials(tx: TenantTx) -> tuple[UUID, Credentials]:
    user_id = tx.ctx.actor.user_id
    creds = credentials.load(tx, user_id) if user_id else None
    if user_id is None or creds is None:
        raise ApiError("unauthorized", 401)
    return user_id, creds


def begin_enrolment(tx: TenantTx, now: datetime) -> tuple[str, str]:
    """A new seed for the signed-in user; returns (seed, otpauth:// URI)."""
    user_id, creds = _own_credentials(tx)
    if creds.mfa_enabled:
        raise ApiError("mfa_already_enabled", 409)
    secret = totp.new_secret()
    credentials.store_mfa_secret(tx, user_id, secret, now)
    return secret, totp.provisioning_uri(secret, creds.email)


def confirm_enrolment(tx: TenantTx, session_id: UUID, code: str, settings: Settings, now: datetime) -> list[str]:
    user_id, creds = _own_credentials(tx)
    if creds.mfa_enabled:
        raise ApiError("mfa_already_enabled", 409)
    if creds.mfa_secret is None:
        raise ApiError("mfa_not_started", 409)
    attempt = verifier.begin(settings, creds.email, tx.ctx.request.client_ip, now)
    step = attempt.enrolment_code(tx, user_id, creds, code)
    if step is None:
        attempt.refuse(tx.ctx, user_id, "mfa_enrolment", "totp", ApiError("invalid_mfa_code", 403))
    attempt.succeeded()
    credentials.enable_mfa(tx, user_id, step, now)
    codes = credentials.replace_recovery_codes(tx, user_id, settings.password_pepper.reveal())
    sessions.revoke_user_sessions(tx, user_id, "mfa_changed", now, keep=session_id)
    audit.record(tx, "auth.mfa_enrolled", Target("user", user_id), before={"mfa": False}, after={"mfa": True})
    _alert(tx, creds, "enabled", now)
    return codes


def disable_own(
    tx: TenantTx,
    session_id: UUID,
    *,
    password: str,
    totp_code: str | None,
    recovery_code: str | None,
    settings: Settings,
    now: datetime,
) -> None:
    user_id, creds = _own_credentials(tx)
    if not creds.mfa_enabled:
        raise ApiError("mfa_not_enrolled", 409)
    if creds.org_mfa_required and Role(creds.role) in MFA_REQUIRABLE_ROLES:
        raise ApiError("mfa_required_by_organization", 409)
    attempt = verifier.begin(settings, creds.email, tx.ctx.request.client_ip, now)
    password_ok = attempt.password(password, creds.password_hash)
    factor_ok = attempt.second_factor(tx, user_id, creds, totp_code=totp_code, recovery_code=recovery_code)
    if not (password_ok and factor_ok):
        failed = "password" if not password_ok else "second_factor"
        attempt.refuse(tx.ctx, user_id, "mfa_disable", failed, ApiError("reauthentication_failed", 403))
    attempt.succeeded()
    credentials.clear_mfa(tx, user_id, now)
    sessions.revoke_user_sessions(tx, user_id, "mfa_changed", now, keep=session_id)
    audit.record(tx, "auth.mfa_disabled", Target("user", user_id), before={"mfa": True}, after={"mfa": False})
    _alert(tx, creds, "disabled", now)


def admin_reset(tx: TenantTx, user_id: UUID, now: datetime) -> None:
    """An ADMIN clears another user's second factor; the user must enrol again."""
    if tx.ctx.actor.user_id == user_id:
        raise ApiError("cannot_reset_own_mfa", 409)
    creds = credentials.load(tx, user_id)
    if creds is None:
        raise ApiError("not_found", 404)
    if not creds.mfa_enabled and creds.mfa_secret is None:
        raise ApiError("mfa_not_enrolled", 409)
    credentials.clear_mfa(tx, user_id, now)
    sessions.revoke_user_sessions(tx, user_id, "mfa_reset", now)
    audit.record(tx, "user.mfa_reset", Target("user", user_id), before={"mfa": creds.mfa_enabled}, after={"mfa": False})
    _alert(tx, creds, "reset_by_admin", now)
