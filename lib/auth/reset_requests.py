"""Password-reset requests: answered at once, the same way and at the same cost for every email.

Whether an email has an account must not show in the answer or in its timing. So the request
does the same work for every address (`submit`): it reserves its place on the per-email and
per-address caps (lib/auth/throttle), stores the typed email sealed (AES-256-GCM, bound to the
row) in `password_reset_requests`, and answers 202. The outbox cron (`drain`) takes the requests
one at a time: for an active account it issues the one-hour token, queues the email and audits
the request, and deletes the request row in that same transaction; for anything else it only
deletes the row. Two cron runs cannot both act on one request: the delete decides.

Caps: three requests per email and ten per client address an hour. Over the email's cap the
answer stays the same 202 and nothing is queued (the cap says nothing about an account); over
the address's cap the client gets 429 with Retry-After, since that is about its own behaviour.

Stored emails live until the next cron run (a minute), and at most a day (auth_purge_expired).
They are not part of key rotation (lib/key_rotation): a request still sealed under a key
removed from ENCRYPTION_KEYS cannot be opened, and is dropped with a log line.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from lib import audit, jobs
from lib.audit import Target
from lib.auth import credentials, one_time_tokens, throttle
from lib.auth.one_time_tokens import Purpose
from lib.config import Settings
from lib.config import settings as load_settings
from lib.crypto import SealContext, SealError
from lib.db import tenant_transaction, unscoped_transaction
from lib.email.outbox import enqueue_email
from lib.http.errors import ApiError
from lib.key_ring import current_key_ring
from lib.monitoring import report_exception
from lib.tenancy import Actor, RequestMeta, Role, TenantContext

_log = logging.getLogger("zentro.security.reset")

PER_EMAIL = throttle.Rule("reset_email", 3, timedelta(hours=1), timedelta(minutes=15), timedelta(minutes=15))
PER_ADDRESS = throttle.Rule("reset_address", 10, timedelta(hours=1), timedelta(minutes=1), timedelta(hours=1))
# Looking an account up and queueing its email: database work only.
HANDLE_SECONDS = 5.0

_STORE = text(
    "INSERT INTO password_reset_requests (id, email, requested_at, request_id, client_ip, user_agent) "
    "VALUES (:id, :email, :now, :request_id, CAST(:ip AS inet), :ua)"
)
_NEXT = text(
    "SELECT id, email, requested_at, request_id, host(client_ip) AS client_ip, user_agent "
    "FROM password_reset_requests ORDER BY requested_at, id LIMIT 1"
)
_TAKE = text("DELETE FROM password_reset_requests WHERE id = :id")
_ACCOUNT = text("SELECT user_id, org_id, role, status FROM auth_login_candidate(:email)")


def _context(request_id: uuid.UUID) -> SealContext:
    return SealContext(org_id=None, table="password_reset_requests", record_id=str(request_id), field="email")


def submit(email: str, meta: RequestMeta, settings: Settings, now: datetime) -> None:
    """Accept a reset request for `email`; the same work whether or not it has an account."""
    normalised = email.strip().lower()
    pepper = settings.password_pepper.reveal()
    keys = [throttle.key(pepper, "reset", normalised, PER_EMAIL)]
    if meta.client_ip:
        keys.append(throttle.key(pepper, "reset-ip", meta.client_ip, PER_ADDRESS))
    try:
        throttle.reserve(tuple(keys), now)
    except throttle.TooManyAttempts as capped:
        if PER_ADDRESS.name in capped.rules:
            retry = str(capped.retry_after)
            raise ApiError(
                "too_many_requests", 429, params={"seconds": retry}, headers={"Retry-After": retry}
            ) from None
        _log.info("password_reset_capped")
        return
    request_id = uuid.uuid4()
    sealed = current_key_ring().seal_text(normalised, _context(request_id))
    with unscoped_transaction() as conn:
        conn.execute(
            _STORE,
            {
                "id": request_id,
                "email": sealed,
                "now": now,
                "request_id": meta.request_id[:100],
                "ip": meta.client_ip,
                "ua": (meta.user_agent or "")[:512] or None,
            },
        )


def drain(clock: jobs.RunClock, *, limit: int = 100) -> int:
    """Act on stored requests, oldest first, while the run has time; returns how many were handled."""
    handled = 0
    while handled < limit and clock.has_time_for(HANDLE_SECONDS):
        with unscoped_transaction() as conn:
            request = conn.execute(_NEXT).one_or_none()
        if request is None:
            break
        try:
            _handle(request, clock.moment())
        except Exception as exc:  # noqa: BLE001 - one broken request must not block the queue behind it
            _log.exception("password_reset_request_failed", extra={"request": str(request.id)})
            report_exception(exc, request_id=f"reset-{request.id}", method="JOB", path="password_reset")
            with unscoped_transaction() as conn:
                conn.execute(_TAKE, {"id": request.id})  # the person can ask again; the error is reported
        handled += 1
    return handled


def _handle(request: Any, now: datetime) -> None:
    try:
        email = current_key_ring().open_text(bytes(request.email), _context(request.id))
    except SealError:
        _log.error("password_reset_request_unopenable", extra={"request": str(request.id)})
        email = None
    with unscoped_transaction() as conn:
        account = conn.execute(_ACCOUNT, {"email": email}).one_or_none() if email else None
    if account is None or account.status != "active":
        with unscoped_transaction() as conn:
            conn.execute(_TAKE, {"id": request.id})
        return
    meta = RequestMeta(
        request_id=request.request_id or "cron", client_ip=request.client_ip, user_agent=request.user_agent
    )
    ctx = TenantContext(
        org_id=account.org_id, actor=Actor(user_id=account.user_id, role=Role(account.role)), request=meta
    )
    settings = load_settings()
    with tenant_transaction(ctx) as tx:
        if not tx.conn.execute(_TAKE, {"id": request.id}).rowcount:
            return  # another run took it
        creds = credentials.load(tx, account.user_id)
        if creds is None or creds.status != "active":
            return
        token = one_time_tokens.issue(tx, account.user_id, Purpose.PASSWORD_RESET, now)
        minutes = int(one_time_tokens.LIFETIMES[Purpose.PASSWORD_RESET].total_seconds() // 60)
        enqueue_email(
            tx,
            to=creds.email,
            template="password_reset",
            language=creds.language,
            params={"link": f"{settings.app_base_url}/reset-password#token={token}", "expires_minutes": str(minutes)},
            now=now,
        )
        audit.record(tx, "auth.password_reset_requested", Target("user", account.user_id))
