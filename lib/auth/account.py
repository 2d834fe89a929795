"""Changing, resetting and first setting a password.

- Change (signed in): needs the current password (checked by lib/auth/verifier, on the same
  allowance as login); ends the user's other sessions and sends a security alert.
- Reset: requesting one (lib/auth/reset_requests) answers the same whether or not the email has
  an account; the link carries a one-hour, single-use, password-reset-only token; completing it
  ends every session of the account.
- Invitation: the invited user sets their first password with the invitation token and is
  signed in.
New passwords always go through lib/auth/password_policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from lib import audit
from lib.audit import Target
from lib.auth import credentials, one_time_tokens, sessions, verifier
from lib.auth.credentials import Credentials
from lib.auth.one_time_tokens import Purpose, TokenRef
from lib.auth.password_policy import PasswordRejected, check_new_password
from lib.auth.passwords import PasswordHasher
from lib.config import Settings
from lib.db import TenantTx, tenant_transaction
from lib.email.outbox import enqueue_email
from lib.http.errors import ApiError
from lib.tenancy import Actor, RequestMeta, Role, TenantContext

_ACTIVATE = text(
    "UPDATE users SET status = 'active', full_name = coalesce(:full_name, full_name), updated_at = :now "
    "WHERE org_id = :org AND id = :id AND status = 'invited'"
)


def _hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(settings.password_pepper.reveal(), settings.bcrypt_cost)


def _checked(password: str, creds: Credentials) -> None:
    try:
        check_new_password(password, personal_words=(creds.email.split("@")[0], creds.org_name, creds.full_name))
    except PasswordRejected as rejected:
        raise ApiError(rejected.code, 422) from None


def _password_changed_alert(tx: TenantTx, creds: Credentials, now: datetime) -> None:
    enqueue_email(
        tx,
        to=creds.email,
        template="password_changed",
        language=creds.language,
        params={"when": now.isoformat(timespec="seconds"), "ip": tx.ctx.request.client_ip or ""},
        now=now,
    )


def change_password(tx: TenantTx, session_id: UUID, current: str, new: str, settings: Settings, now: datetime) -> None:
    user_id = tx.ctx.actor.user_id
    creds = credentials.load(tx, user_id) if user_id else None
    if user_id is None or creds is None:
        raise ApiError("unauthorized", 401)
    attempt = verifier.begin(settings, creds.email, tx.ctx.request.client_ip, now)
    if not attempt.password(current, creds.password_hash):
        attempt.refuse(tx.ctx, user_id, "password_change", "password", ApiError("current_password_incorrect", 403))
    attempt.succeeded()
    _checked(new, creds)
    credentials.set_password_hash(tx, user_id, attempt.hasher.hash(new), now)
    sessions.revoke_user_sessions(tx, user_id, "password_changed", now, keep=session_id)
    audit.record(tx, "auth.password_changed", Target("user", user_id))
    _password_changed_alert(tx, creds, now)


@contextmanager
def _redeeming(
    token: str, purpose: Purpose, status: str, password: str, meta: RequestMeta, settings: Settings, now: datetime
) -> Iterator[tuple[TenantTx, TokenRef, Credentials]]:
    """Open the transaction a one-time token authorises: the token is live, of this purpose,
    its account is in `status`, the new password passes the policy; the token is then spent
    and the password set, both in the transaction the caller continues."""
    ref = one_time_tokens.find(token, purpose, now)
    if ref is None:
        raise ApiError("invalid_token", 404)
    ctx = TenantContext(org_id=ref.org_id, actor=Actor(user_id=ref.user_id, role=None), request=meta)
    with tenant_transaction(ctx) as tx:
        creds = credentials.load(tx, ref.user_id)
        if creds is None or creds.status != status:
            raise ApiError("invalid_token", 404)
        _checked(password, creds)
        if not one_time_tokens.redeem(tx, ref, now):
            raise ApiError("invalid_token", 404)
        credentials.set_password_hash(tx, ref.user_id, _hasher(settings).hash(password), now)
        yield tx, ref, creds


def complete_reset(token: str, new: str, meta: RequestMeta, settings: Settings, now: datetime) -> None:
    with _redeeming(token, Purpose.PASSWORD_RESET, "active", new, meta, settings, now) as (tx, ref, creds):
        sessions.revoke_user_sessions(tx, ref.user_id, "password_reset", now)
        audit.record(tx, "auth.password_reset", Target("user", ref.user_id))
        _password_changed_alert(tx, creds, now)


def accept_invitation(
    token: str, password: str, full_name: str | None, meta: RequestMeta, settings: Settings, now: datetime
) -> tuple[str, sessions.Session]:
    """Set the first password of an invited account and sign it in; returns (token, session)."""
    with _redeeming(token, Purpose.INVITATION, "invited", password, meta, settings, now) as (tx, ref, creds):
        try:
            with tx.conn.begin_nested():
                tx.conn.execute(_ACTIVATE, {"org": ref.org_id, "id": ref.user_id, "full_name": full_name, "now": now})
        except IntegrityError:
            # The address became an account elsewhere meanwhile (one account per address): the
            # token's holder owns the address, so telling them reveals nothing to anyone else.
            raise ApiError("email_unavailable", 409) from None
        signed_in = TenantTx(
            conn=tx.conn,
            ctx=TenantContext(org_id=ref.org_id, actor=Actor(user_id=ref.user_id, role=Role(creds.role)), request=meta),
        )
        audit.record(signed_in, "user.invitation_accepted", Target("user", ref.user_id))
        return sessions.create(signed_in, creds, settings, now)
