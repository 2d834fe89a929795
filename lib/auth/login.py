"""Signing in: one answer for every wrong credential, the same time for accounts that exist or not.

The order matters:

1. the attempt is reserved on the account's and the address's allowance (lib/auth/verifier): a
   spent allowance gets 429 + Retry-After, before anything else;
2. the account for the email (any organization) through `auth_login_candidate`;
3. bcrypt verification, against a dummy hash when there is no account, so "no such user",
   "wrong password", "deactivated" and "invitation not accepted" all cost one verification and
   all answer 401 `invalid_credentials`;
4. a failure stays counted, and is audited in the account's organization when there is one
   (never with the attempted password);
5. with a second factor enrolled, a correct password also needs a current TOTP code (not one
   used before) or an unused recovery code; without one the answer is 401 `mfa_required`, and
   the attempt is given back (the password was right: not a guess);
6. success: the hash is upgraded if the cost or scheme changed, a fresh session is created, the
   session cookie the browser already carried (if any) is revoked, the attempt is given back
   (the account's count is cleared), and the login is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.auth import credentials, sessions, verifier
from lib.config import Settings
from lib.db import tenant_transaction, unscoped_transaction
from lib.http.errors import ApiError
from lib.tenancy import Actor, RequestMeta, Role, TenantContext

_log = logging.getLogger("zentro.security.login")
_CANDIDATE = text("SELECT user_id, org_id, role, password_hash, status FROM auth_login_candidate(:email)")


@dataclass(frozen=True, slots=True)
class LoginSuccess:
    token: str
    session: sessions.Session


def login(
    *,
    email: str,
    password: str,
    totp_code: str | None,
    recovery_code: str | None,
    previous_token: str | None,
    meta: RequestMeta,
    settings: Settings,
    now: datetime,
) -> LoginSuccess:
    normalised = email.strip().lower()
    attempt = verifier.begin(settings, normalised, meta.client_ip, now)

    with unscoped_transaction() as conn:
        candidate = conn.execute(_CANDIDATE, {"email": normalised}).one_or_none()
    password_ok = attempt.password(password, candidate.password_hash if candidate else None)

    if candidate is None:
        _fail(None, None, "unknown_account", meta)
        raise ApiError("invalid_credentials", 401)
    if not password_ok or candidate.status != "active":
        _fail(candidate.org_id, candidate.user_id, "wrong_password" if not password_ok else candidate.status, meta)
        raise ApiError("invalid_credentials", 401)

    actor = Actor(user_id=candidate.user_id, role=Role(candidate.role))
    ctx = TenantContext(org_id=candidate.org_id, actor=actor, request=meta)
    failure: str | None = None
    with tenant_transaction(ctx) as tx:
        creds = credentials.load(tx, candidate.user_id)
        if creds is None or creds.status != "active":  # changed since the lookup
            failure = "changed_meanwhile"
        elif creds.mfa_enabled:
            if not totp_code and not recovery_code:
                failure = "mfa_required"
            elif not attempt.second_factor(
                tx, candidate.user_id, creds, totp_code=totp_code, recovery_code=recovery_code
            ):
                failure = "invalid_mfa_code"
        if failure is None and creds is not None:
            if candidate.password_hash and attempt.hasher.needs_rehash(candidate.password_hash):
                credentials.set_password_hash(tx, candidate.user_id, attempt.hasher.hash(password), now)
            token, session = sessions.create(tx, creds, settings, now)
            audit.record(
                tx,
                "auth.login_succeeded",
                Target("user", candidate.user_id),
                after={"mfa": creds.mfa_enabled, "session_id": str(session.session_id)},
            )

    if failure == "mfa_required":
        # The password was right: not a guess to count, but no session without the second factor.
        attempt.succeeded()
        raise ApiError("mfa_required", 401)
    if failure is not None:
        _fail(candidate.org_id, candidate.user_id, failure, meta)
        raise ApiError("invalid_mfa_code" if failure == "invalid_mfa_code" else "invalid_credentials", 401)

    _revoke_previous(previous_token, settings, meta, now)
    attempt.succeeded()
    return LoginSuccess(token=token, session=session)


def _fail(org_id: UUID | None, user_id: UUID | None, reason: str, meta: RequestMeta) -> None:
    """A failed login: it stays counted (its reservation is kept) and is audited when the account exists."""
    _log.warning("login_failed", extra={"reason": reason, "client_ip": meta.client_ip})
    if org_id is not None and user_id is not None:
        ctx = TenantContext(org_id=org_id, actor=Actor(user_id=None, role=None), request=meta)
        with tenant_transaction(ctx) as tx:
            audit.record(tx, "auth.login_failed", Target("user", user_id), after={"reason": reason})


def _revoke_previous(token: str | None, settings: Settings, meta: RequestMeta, now: datetime) -> None:
    """Whatever session cookie came with the login request stops working (no fixation)."""
    previous = sessions.resolve(token, settings, now)
    if previous is None:
        return
    ctx = TenantContext(org_id=previous.org_id, actor=Actor(user_id=None, role=None), request=meta)
    with tenant_transaction(ctx) as tx:
        sessions.revoke(tx, previous.session_id, "replaced_at_login", now)


def logout(session: sessions.Session, meta: RequestMeta, now: datetime) -> None:
    ctx = TenantContext(org_id=session.org_id, actor=Actor(user_id=session.user_id, role=session.role), request=meta)
    with tenant_transaction(ctx) as tx:
        sessions.revoke(tx, session.session_id, "logout", now)
        audit.record(tx, "auth.logout", Target("session", session.session_id))
