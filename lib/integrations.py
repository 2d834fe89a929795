"""An organization's integration credentials (Zeus: portal URL, username, password).

Only an ADMIN connects, replaces, tests or removes them, and every change is audited. The username
and password are sealed together (AES-256-GCM, lib/crypto, bound to the organization and row)
before they reach the database; they are never returned, logged or sent to Sentry. What an ADMIN
sees is the portal URL, a hint of the username (its last characters), who set the credentials and
when, and the last test's outcome. The audit trail holds the same, never the secret.

The portal URL is where a browser in Browserbase's cloud goes, with the merchant's Zeus password:
it must be the real Zeus portal, so its host must be one of ZEUS_PORTAL_HOSTS (the courier's
host names, set per deployment; none set means no portal is accepted), over https, with no
credentials, query or fragment. Outside production and preview, http to loopback is accepted
too, for the local stand-in. Zentro's own servers never fetch it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.config import settings
from lib.db import TenantTx, tenant_transaction
from lib.db.versioned import require_version
from lib.http.errors import ApiError, ErrorDetail
from lib.http.schemas import Schema
from lib.http.schemas import text as text_field
from lib.key_ring import current_key_ring
from lib.sealed_columns import INTEGRATION_CREDENTIALS
from lib.tenancy import TenantContext
from lib.zeus.portal import Credentials

Provider = Literal["zeus"]
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ZeusCredentialsIn(Schema):
    portal_url: Annotated[str, text_field(min_length=8, max_length=300, description="https://, the portal's base")]
    username: Annotated[str, text_field(min_length=1, max_length=100)]
    password: Annotated[str, text_field(min_length=1, max_length=200)]


class IntegrationTest(Schema):
    at: datetime
    ok: bool
    problem: str | None = None


class Integration(Schema):
    provider: Provider
    portal_url: str
    username_hint: str
    credentials_set_at: datetime
    credentials_set_by: uuid.UUID
    last_test: IntegrationTest | None
    version: int


_COLUMNS = (
    "id, provider, portal_url, username_hint, credentials, credentials_set_at, credentials_set_by, "
    "last_test_at, last_test_ok, last_test_problem, version"
)
_GET = text(f"SELECT {_COLUMNS} FROM integrations WHERE org_id = :org AND provider = :provider")
_LOCK = text(f"SELECT {_COLUMNS} FROM integrations WHERE org_id = :org AND provider = :provider FOR NO KEY UPDATE")
_INSERT = text(
    f"""
    INSERT INTO integrations (id, org_id, provider, portal_url, username_hint, credentials, credentials_set_at,
                              credentials_set_by)
    VALUES (:id, :org, :provider, :portal_url, :hint, :credentials, :now, :by)
    RETURNING {_COLUMNS}
    """
)
_REPLACE = text(
    f"""
    UPDATE integrations SET portal_url = :portal_url, username_hint = :hint, credentials = :credentials,
        credentials_set_at = :now, credentials_set_by = :by, last_test_at = NULL, last_test_ok = NULL,
        last_test_problem = NULL, version = version + 1
    WHERE org_id = :org AND id = :id AND provider = :provider
    RETURNING {_COLUMNS}
    """
)
_TESTED = text(
    f"""
    UPDATE integrations SET last_test_at = :now, last_test_ok = :ok, last_test_problem = :problem,
        version = version + 1
    WHERE org_id = :org AND id = :id AND credentials = :credentials
    RETURNING {_COLUMNS}
    """
)
_DELETE = text("DELETE FROM integrations WHERE org_id = :org AND id = :id")


def username_hint(username: str) -> str:
    """The last characters of a username, enough to tell accounts apart: 4 of a long one, fewer
    of a short one, never more than half."""
    shown = min(4, len(username) // 2)
    return "…" + (username[-shown:] if shown else "")


def check_portal_url(raw: str) -> str:
    """The portal's base URL, normalised; a 422 naming the field when it is not acceptable."""
    url = raw.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a bad port
    except ValueError:
        host = None
    config = settings()
    local_standin = not config.deployed and host in _LOOPBACK
    if (
        host is None
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or not (parts.scheme == "https" or (parts.scheme == "http" and local_standin))
    ):
        raise ApiError(
            "validation_failed",
            422,
            details=[ErrorDetail(field="$.portal_url", reason="must be an https:// URL without credentials or query")],
        )
    if not local_standin and host.lower().rstrip(".") not in config.zeus_portal_hosts:
        raise ApiError(
            "portal_host_not_allowed",
            422,
            details=[ErrorDetail(field="$.portal_url", reason="not a host of the Zeus portal")],
        )
    return url


def view(ctx: TenantContext, provider: Provider) -> Integration:
    with tenant_transaction(ctx) as tx:
        row = tx.conn.execute(_GET, {"org": ctx.org_id, "provider": provider}).one_or_none()
    if row is None:
        raise ApiError("integration_not_connected", 404)
    return _view(row)


def connect(
    ctx: TenantContext, provider: Provider, body: ZeusCredentialsIn, if_match: int | None, now: datetime
) -> tuple[Integration, bool]:
    """Store (or replace) the credentials; True when they are new. A sent If-Match must be current."""
    portal_url = check_portal_url(body.portal_url)
    secret = msgspec.json.encode({"username": body.username, "password": body.password})
    hint = username_hint(body.username)
    with tenant_transaction(ctx) as tx:
        current = tx.conn.execute(_LOCK, {"org": ctx.org_id, "provider": provider}).one_or_none()
        if current is None and if_match is not None:
            raise ApiError("integration_not_connected", 404)
        if current is not None and if_match is not None:
            require_version(current.version, if_match)
        row_id = uuid.uuid4() if current is None else current.id
        params = {
            "id": row_id,
            "org": ctx.org_id,
            "provider": provider,
            "portal_url": portal_url,
            "hint": hint,
            "credentials": current_key_ring().seal(secret, INTEGRATION_CREDENTIALS.context(ctx.org_id, row_id)),
            "now": now,
            "by": ctx.actor.user_id,
        }
        row = tx.conn.execute(_INSERT if current is None else _REPLACE, params).one()
        target = Target("integration", row_id)
        if current is None:
            audit.record(tx, "integration.connected", target, after=_audit_view(row))
        else:
            audit.record(tx, "integration.replaced", target, _audit_view(current), _audit_view(row))
        return _view(row), current is None


def remove(ctx: TenantContext, provider: Provider, if_match: int | None) -> None:
    with tenant_transaction(ctx) as tx:
        current = tx.conn.execute(_LOCK, {"org": ctx.org_id, "provider": provider}).one_or_none()
        if current is None:
            raise ApiError("integration_not_connected", 404)
        if if_match is not None:
            require_version(current.version, if_match)
        tx.conn.execute(_DELETE, {"org": ctx.org_id, "id": current.id})
        audit.record(tx, "integration.removed", Target("integration", current.id), before=_audit_view(current))


def credentials(tx: TenantTx, provider: Provider) -> tuple[Credentials, bytes] | None:
    """The opened credentials, and the sealed value they came from (to tell a later replacement)."""
    row = tx.conn.execute(_GET, {"org": tx.ctx.org_id, "provider": provider}).one_or_none()
    if row is None:
        return None
    sealed = bytes(row.credentials)
    opened = msgspec.json.decode(
        current_key_ring().open(sealed, INTEGRATION_CREDENTIALS.context(tx.ctx.org_id, row.id))
    )
    return Credentials(portal_url=row.portal_url, username=opened["username"], password=opened["password"]), sealed


def record_test(
    ctx: TenantContext, provider: Provider, sealed: bytes, problem: str | None, now: datetime
) -> Integration:
    """Keep a test's outcome, unless the credentials were replaced while it ran (then it tested
    the old ones, and the answer is a 409: test again)."""
    with tenant_transaction(ctx) as tx:
        current = tx.conn.execute(_LOCK, {"org": ctx.org_id, "provider": provider}).one_or_none()
        if current is None:
            raise ApiError("integration_not_connected", 404)
        row = tx.conn.execute(
            _TESTED,
            {
                "org": ctx.org_id,
                "id": current.id,
                "now": now,
                "ok": problem is None,
                "problem": problem,
                "credentials": sealed,
            },
        ).one_or_none()
        if row is None:
            raise ApiError("version_conflict", 409, headers={"ETag": f'"{current.version}"'})
        audit.record(
            tx,
            "integration.tested",
            Target("integration", current.id),
            after={"provider": provider, "ok": problem is None, "problem": problem},
        )
        return _view(row)


def test_connection(ctx: TenantContext, provider: Provider, now: datetime) -> Integration:
    """Log in to the portal with the stored credentials, in a Browserbase session, and keep the
    outcome. No database connection is held while the browser works."""
    from lib.zeus.browser import BrowserNotConfigured, BrowserUnavailable, portal_page
    from lib.zeus.portal import PortalError, check_login

    with tenant_transaction(ctx) as tx:
        found = credentials(tx, provider)
    if found is None:
        raise ApiError("integration_not_connected", 404)
    stored, sealed = found
    problem: str | None = None
    try:
        with portal_page(settings(), metadata={"org": str(ctx.org_id), "purpose": "integration_test"}) as page:
            check_login(page, stored)
    except PortalError as error:
        problem = error.problem
    except BrowserUnavailable:
        problem = "browser_unavailable"
    except BrowserNotConfigured:
        problem = "browser_not_configured"
    return record_test(ctx, provider, sealed, problem, now)


def _view(row: Any) -> Integration:
    test = None
    if row.last_test_at is not None:
        test = IntegrationTest(at=row.last_test_at, ok=row.last_test_ok, problem=row.last_test_problem)
    return Integration(
        provider=row.provider,
        portal_url=row.portal_url,
        username_hint=row.username_hint,
        credentials_set_at=row.credentials_set_at,
        credentials_set_by=row.credentials_set_by,
        last_test=test,
        version=row.version,
    )


def _audit_view(row: Any) -> dict[str, Any]:
    """What the audit trail keeps of a change: never the sealed value, only what an ADMIN sees."""
    return {
        "provider": row.provider,
        "portal_url": row.portal_url,
        "username_hint": row.username_hint,
        "credentials_set_at": row.credentials_set_at.isoformat(),
    }
