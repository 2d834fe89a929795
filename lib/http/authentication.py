"""Who is calling: the session cookie resolved to a tenant context, checked against the policy.

Runs before the body is read, for every `requires(...)` operation:

- no cookie, or one that is unknown, revoked, idle too long, past its lifetime, or whose user
  is deactivated: 401;
- an organization that requires MFA for this user's role while the user has none: 403
  `mfa_enrollment_required`, except for what enrolling needs (lib/permissions);
- a role the policy does not grant the permission: 403;
- a database fault: the exception propagates and the request fails (500) -- never allowed.

The organization comes from the session row and nowhere else: looked up now, or remembered
from an earlier lookup and confirmed by the database before anything is answered (a bet, for
reads: lib/db/session_check).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from lib.auth import sessions
from lib.auth.sessions import Session
from lib.config import Settings
from lib.db.session_check import SessionCheck
from lib.http.errors import ApiError
from lib.permissions import BEFORE_MFA_ENROLMENT, MFA_REQUIRABLE_ROLES, Permission, allows
from lib.tenancy import Actor, RequestMeta, TenantContext

_log = logging.getLogger("zentro.security.access")


def mfa_enrolment_pending(session: Session) -> bool:
    return session.org_mfa_required and session.role in MFA_REQUIRABLE_ROLES and not session.mfa_enabled


def _granted(session: Session, permission: Permission) -> bool:
    return allows(session.role, permission) and not (
        mfa_enrolment_pending(session) and permission not in BEFORE_MFA_ENROLMENT
    )


def remembered(
    cookies: Mapping[str, str], permission: Permission, meta: RequestMeta, settings: Settings
) -> tuple[Session, TenantContext] | None:
    """The caller's session as this instance resolved it lately, taken as a bet, when it grants
    the permission; None otherwise (then `authenticate` looks it up). No database access: the
    context carries the check the request's first database access makes (lib/db/session_check).
    Refusals are only ever decided on a fresh lookup."""
    found = sessions.remembered(cookies.get(settings.session_cookie_name), settings, datetime.now(UTC))
    if found is None or not _granted(found[0], permission):
        return None
    return found[0], _context(found[0], meta, found[1])


def authenticate(
    cookies: Mapping[str, str], permission: Permission, meta: RequestMeta, settings: Settings
) -> tuple[Session, TenantContext]:
    """The caller's session, looked up now, and its context; or 401/403."""
    token = cookies.get(settings.session_cookie_name)
    now = datetime.now(UTC)
    session = sessions.resolve(token, settings, now)
    if session is None:
        _log.info("unauthenticated", extra={"permission": permission.value})
        raise ApiError("unauthorized", 401)
    if mfa_enrolment_pending(session) and permission not in BEFORE_MFA_ENROLMENT:
        _log.info("mfa_enrolment_required", extra={"user_id": str(session.user_id), "permission": permission.value})
        raise ApiError("mfa_enrollment_required", 403)
    if not allows(session.role, permission):
        _log.warning(
            "access_denied",
            extra={"user_id": str(session.user_id), "role": session.role.value, "permission": permission.value},
        )
        raise ApiError("forbidden", 403)
    return session, _context(session, meta, None)


def _context(session: Session, meta: RequestMeta, check: SessionCheck | None) -> TenantContext:
    actor = Actor(user_id=session.user_id, role=session.role)
    return TenantContext(org_id=session.org_id, actor=actor, request=meta, session_check=check)
