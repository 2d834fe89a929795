"""Server-side sessions: a 256-bit random token in a cookie, only its SHA-256 in the database.

- A new token at every login; whatever session cookie the browser already carried is revoked
  (a cookie planted before login stops working: no session fixation).
- Idle timeout and absolute lifetime are enforced where the session is looked up
  (`auth_session_resolve`), with the application's clock.
- Logout revokes on the server; password change, role change, deactivation and MFA changes
  revoke the user's other sessions.
- The cookie: `__Host-zentro_session`, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain in
  production; locally `zentro_session` without Secure, by configuration (SESSION_COOKIE_SECURE).
  The token appears only in Set-Cookie: never in a body, a log line or an audit row.
- An instance remembers the sessions it resolved lately (by token hash, a bounded map): a read
  may bet on one instead of looking it up first, and the database checks the bet in the
  request's first round trip (lib/db/session_check). Memory is never the authority: a revoked
  session fails its check and the request is answered from a fresh lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import text

from lib.auth.credentials import Credentials
from lib.config import Settings
from lib.db import TenantTx
from lib.db.pipeline import unscoped_once
from lib.db.session_check import FINGERPRINT, SessionCheck
from lib.tenancy import Role

TOKEN_BYTES = 32
REMEMBERED_SESSIONS = 1024
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")

_RESOLVE = text(
    "SELECT s.session_id, s.org_id, s.user_id, s.role, s.language, s.mfa_enabled, s.org_mfa_required, "
    f"s.created_at, {FINGERPRINT} AS fingerprint FROM auth_session_resolve(:hash, :now, :idle) s"
)
_CREATE = text(
    """
    INSERT INTO sessions (org_id, user_id, token_hash, created_at, last_seen_at, expires_at, client_ip, user_agent)
    VALUES (:org, :user, :hash, :now, :now, :expires, CAST(:ip AS inet), :ua)
    RETURNING id
    """
)
_REVOKE_ONE = text(
    "UPDATE sessions SET revoked_at = :now, revoked_reason = :reason "
    "WHERE org_id = :org AND id = :id AND revoked_at IS NULL"
)
_REVOKE_USER = text(
    "UPDATE sessions SET revoked_at = :now, revoked_reason = :reason "
    "WHERE org_id = :org AND user_id = :user AND revoked_at IS NULL AND id IS DISTINCT FROM :keep"
)


@dataclass(frozen=True, slots=True)
class Session:
    """A live session, as resolved from its cookie."""

    session_id: UUID
    org_id: UUID
    user_id: UUID
    role: Role
    language: str
    mfa_enabled: bool
    org_mfa_required: bool
    created_at: datetime


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def resolve(token: str | None, settings: Settings, now: datetime) -> Session | None:
    """The live session behind a cookie value, or None. Never raises for a bad cookie."""
    if not token or not _TOKEN_SHAPE.match(token):
        return None
    digest = token_hash(token)
    rows = unscoped_once(_RESOLVE, {"hash": digest, "now": now, "idle": settings.session_idle_minutes * 60})
    if not rows:
        _remembered.forget(digest)
        return None
    row = rows[0]
    session = Session(
        session_id=row.session_id,
        org_id=row.org_id,
        user_id=row.user_id,
        role=Role(row.role),
        language=row.language,
        mfa_enabled=row.mfa_enabled,
        org_mfa_required=row.org_mfa_required,
        created_at=row.created_at,
    )
    _remembered.put(digest, session, row.fingerprint)
    return session


def remembered(token: str | None, settings: Settings, now: datetime) -> tuple[Session, SessionCheck] | None:
    """A session this instance resolved from the same cookie lately, and the check that must
    confirm it (lib/db/session_check); None when there is nothing to bet on."""
    if not token or not _TOKEN_SHAPE.match(token):
        return None
    digest = token_hash(token)
    found = _remembered.get(digest)
    if found is None:
        return None
    session, fingerprint = found
    return session, SessionCheck(digest, now, settings.session_idle_minutes * 60, fingerprint)


def forget(digest: bytes) -> None:
    """Drop a remembered session (its bet was lost)."""
    _remembered.forget(digest)


class _Remembered:
    """The sessions resolved lately, by token hash, each with the fingerprint the database gave it
    (lib/db/session_check), the least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._sessions: OrderedDict[bytes, tuple[Session, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> tuple[Session, str] | None:
        with self._lock:
            found = self._sessions.get(digest)
            if found is not None:
                self._sessions.move_to_end(digest)
            return found

    def put(self, digest: bytes, session: Session, fingerprint: str) -> None:
        with self._lock:
            self._sessions[digest] = (session, fingerprint)
            self._sessions.move_to_end(digest)
            while len(self._sessions) > self._capacity:
                self._sessions.popitem(last=False)

    def forget(self, digest: bytes) -> None:
        with self._lock:
            self._sessions.pop(digest, None)

    def forget_where(self, ended: Callable[[Session], bool]) -> None:
        """Drop every remembered session `ended` says is over (a scan: revocations are rare)."""
        with self._lock:
            for digest in [digest for digest, (session, _) in self._sessions.items() if ended(session)]:
                del self._sessions[digest]


_remembered = _Remembered(REMEMBERED_SESSIONS)


def create(tx: TenantTx, creds: Credentials, settings: Settings, now: datetime) -> tuple[str, Session]:
    """Start a session for the account `creds` describes (tx's actor); returns (token, session)."""
    user_id = tx.ctx.actor.user_id
    if user_id is None:
        raise ValueError("a session is created for the transaction's actor")
    token = new_token()
    session_id = tx.conn.execute(
        _CREATE,
        {
            "org": tx.ctx.org_id,
            "user": user_id,
            "hash": token_hash(token),
            "now": now,
            "expires": now + timedelta(hours=settings.session_absolute_hours),
            "ip": tx.ctx.request.client_ip,
            "ua": tx.ctx.request.user_agent,
        },
    ).scalar_one()
    session = Session(
        session_id=session_id,
        org_id=tx.ctx.org_id,
        user_id=user_id,
        role=Role(creds.role),
        language=creds.language,
        mfa_enabled=creds.mfa_enabled,
        org_mfa_required=creds.org_mfa_required,
        created_at=now,
    )
    return token, session


def revoke(tx: TenantTx, session_id: UUID, reason: str, now: datetime) -> bool:
    """Revoke one session. This instance forgets it too, so its next request with the cookie is
    looked up (one round trip to its 401) instead of losing a bet first; other instances find
    out when the database settles their bets."""
    _remembered.forget_where(lambda session: session.session_id == session_id)
    return bool(
        tx.conn.execute(_REVOKE_ONE, {"org": tx.ctx.org_id, "id": session_id, "reason": reason, "now": now}).rowcount
    )


def revoke_user_sessions(tx: TenantTx, user_id: UUID, reason: str, now: datetime, *, keep: UUID | None = None) -> int:
    """Revoke every live session of a user, except `keep` (the one making the change); this
    instance forgets them, as `revoke` does."""
    _remembered.forget_where(lambda session: session.user_id == user_id and session.session_id != keep)
    params = {"org": tx.ctx.org_id, "user": user_id, "reason": reason, "now": now, "keep": keep}
    return int(tx.conn.execute(_REVOKE_USER, params).rowcount)


def cookie_header(settings: Settings, token: str) -> str:
    parts = [
        f"{settings.session_cookie_name}={token}",
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        f"Max-Age={settings.session_absolute_hours * 3600}",
    ]
    if settings.session_cookie_secure:
        parts.append("Secure")
    return "; ".join(parts)


def clearing_cookie_header(settings: Settings) -> str:
    parts = [f"{settings.session_cookie_name}=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"]
    if settings.session_cookie_secure:
        parts.append("Secure")
    return "; ".join(parts)
