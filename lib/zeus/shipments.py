"""Registering dispatched orders as shipments on the Zeus portal, by a queued job, never twice.

When an order is dispatched with `zeus` as its carrier, `queue` writes its shipment (state
`queued`) and a job, in the dispatch's own transaction. The Zeus cron drains the jobs (`drain`):
each opens a Browserbase session, logs in with the organization's credentials, and registers the
shipment, then stores the tracking code on the shipment and releases the session.

Never twice:
- a shipment that already has its tracking code ends its job before any browser is opened;
- the portal is searched by the order's reference (its code) before anything is registered, so
  an attempt that registered the shipment and then failed (the tracking page broke, the function
  died before the commit) is followed by one that finds it instead of registering it again;
- one live job per shipment: re-queueing only happens from `needs_review`, and a job's lease
  (lib/jobs: twice REGISTRATION_SECONDS) outlasts the attempt, so no two workers hold the same job.

Failures: transient ones (timeouts, the portal or Browserbase down, no tracking page) are retried
with backoff (lib/jobs: 30 s, 1, 2, 4, 8 min...) while RETRY_BUDGET lasts; permanent ones
(credentials rejected, not connected, district not served, the portal refused the form or
changed) and the last transient one put the shipment in `needs_review` with a screenshot of the
page in private storage, and end the job: the shipment holds what a person needs. A person fixes
the cause and asks again (`request_retry`). The order shows the state, the tracking code, the
last sync time and the problem.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from lib import audit, jobs
from lib.audit import Target
from lib.config import settings
from lib.crypto import SealError
from lib.db import TenantTx, tenant_transaction
from lib.monitoring import report_exception
from lib.storage import deletions
from lib.storage.objects import StorageError
from lib.storage.selection import object_store
from lib.tenancy import Actor, RequestMeta, TenantContext

if TYPE_CHECKING:
    from lib.zeus.cdp import Page
    from lib.zeus.portal import ShipmentForm

CARRIER = "zeus"
KIND = "zeus.shipment"
# Transient failures are retried for this long (about six attempts), then a person looks.
RETRY_BUDGET = timedelta(minutes=30)
# The longest one registration may take: a Browserbase session and a dozen portal steps.
REGISTRATION_SECONDS = 90.0
JOBS_PER_RUN = 8
# The Zeus cron may run 300 s (vercel.json); the rest is margin for the last job's bookkeeping.
RUN_SECONDS = 280.0

_log = logging.getLogger("zentro.zeus")

_QUEUE = text(
    """
    INSERT INTO shipments AS s (id, org_id, order_id, carrier, state, created_at, updated_at)
    VALUES (:id, :org, :order_id, :carrier, 'queued', :now, :now)
    ON CONFLICT (org_id, order_id) DO UPDATE
        SET state = 'queued', attempts = 0, problem = NULL, problem_detail = NULL, updated_at = EXCLUDED.updated_at
        WHERE s.state = 'needs_review'
    RETURNING s.id
    """
)
_LOAD = text(
    """
    SELECT s.id, s.order_id, s.tracking_code, s.screenshot_key, o.number, o.customer_name, o.document_number,
           o.customer_phone, o.address_line, o.address_reference, o.ubigeo, o.collect_on_delivery, o.total_cents,
           o.prepaid_cents
    FROM shipments s JOIN orders o ON o.org_id = s.org_id AND o.id = s.order_id
    WHERE s.org_id = :org AND s.id = :id
    """
)
_LOCK = text("SELECT order_id, state, screenshot_key FROM shipments WHERE org_id = :org AND id = :id FOR NO KEY UPDATE")
_REGISTERED = text(
    """
    UPDATE shipments SET state = 'registered', tracking_code = :tracking, attempts = :attempts, last_sync_at = :now,
        problem = NULL, problem_detail = NULL, screenshot_key = NULL, updated_at = :now
    WHERE org_id = :org AND id = :id
    """
)
_FAILED = text(
    """
    UPDATE shipments SET state = :state, attempts = :attempts, last_sync_at = :now, problem = :problem,
        problem_detail = :detail, screenshot_key = :screenshot, updated_at = :now
    WHERE org_id = :org AND id = :id AND state <> 'registered'
    """
)
# The order's shipment: the order's detail read (lib/orders/store) and the review routes share it.
OF_ORDER = text(
    "SELECT id, carrier, state, tracking_code, attempts, last_sync_at, problem, problem_detail, screenshot_key "
    "FROM shipments WHERE org_id = :org AND order_id = :order_id"
)


@dataclass(frozen=True, slots=True)
class Failure:
    problem: str
    detail: str
    permanent: bool


def queue(tx: TenantTx, order_id: uuid.UUID, now: datetime) -> bool:
    """Queue the order's registration, in the caller's transaction; False when there is nothing
    to do (already registered, or a registration is already queued or being retried)."""
    shipment_id = tx.conn.execute(
        _QUEUE, {"id": uuid.uuid4(), "org": tx.ctx.org_id, "order_id": order_id, "carrier": CARRIER, "now": now}
    ).scalar_one_or_none()
    if shipment_id is None:
        return False
    jobs.enqueue(tx, KIND, {"shipment_id": str(shipment_id)}, now, budget=RETRY_BUDGET)
    return True


def of_order(tx: TenantTx, order_id: uuid.UUID) -> Any:
    return tx.conn.execute(OF_ORDER, {"org": tx.ctx.org_id, "order_id": order_id}).one_or_none()


def drain(clock: jobs.RunClock, *, limit: int = JOBS_PER_RUN) -> jobs.DrainReport:
    return jobs.drain(jobs.Kind(KIND, handle, job_seconds=REGISTRATION_SECONDS), clock, limit=limit)


def handle(job: jobs.Job) -> str:
    """One attempt at registering one shipment (lib/jobs calls it; see the module docstring)."""
    from lib import integrations
    from lib.zeus.browser import BrowserNotConfigured, BrowserUnavailable, portal_page
    from lib.zeus.portal import PortalError, register_shipment

    raw_id = job.payload.get("shipment_id")
    if not isinstance(raw_id, str):
        raise jobs.GiveUp("job without a shipment id")
    shipment_id = uuid.UUID(raw_id)
    ctx = _system_context(job.org_id, job.id)
    with tenant_transaction(ctx) as tx:
        row = tx.conn.execute(_LOAD, {"org": job.org_id, "id": shipment_id}).one_or_none()
        if row is None:
            raise jobs.GiveUp("shipment not found")
        if row.tracking_code is not None:
            return "already registered"
        try:
            found = integrations.credentials(tx, "zeus")
        except SealError:
            found = None
            _log.error("zeus_credentials_unopenable", extra={"org_id": str(job.org_id)})
    if found is None:
        return _fail(ctx, shipment_id, job, Failure("zeus_not_connected", "", permanent=True), None)
    credentials, _ = found
    form = _form(row)
    screenshot: bytes | None = None
    try:
        with portal_page(settings(), metadata={"org": str(job.org_id), "shipment": str(shipment_id)}) as page:
            try:
                tracking = register_shipment(page, credentials, form)
            except Exception as error:
                if not isinstance(error, PortalError) or error.permanent or job.final_attempt:
                    screenshot = _screenshot(page)
                raise
    except PortalError as error:
        return _fail(ctx, shipment_id, job, Failure(error.problem, error.detail, error.permanent), screenshot)
    except BrowserUnavailable as error:
        return _fail(ctx, shipment_id, job, Failure("browser_unavailable", str(error), permanent=False), None)
    except BrowserNotConfigured as error:
        # No Zeus job can run: stop the whole run and keep every job queued (lib/jobs.Halt).
        raise jobs.Halt(f"browser_not_configured: {error}") from None
    except Exception as error:  # noqa: BLE001 - a bug, not the portal: kept for Sentry, retried as transient
        _log.exception("zeus_shipment_error", extra={"shipment_id": str(shipment_id)})
        report_exception(error, request_id=f"job-{job.id}", method="JOB", path=KIND)
        return _fail(
            ctx, shipment_id, job, Failure("zeus_unexpected_error", type(error).__name__, permanent=False), screenshot
        )
    _registered(ctx, shipment_id, job, tracking)
    return f"registered {tracking}"


def request_retry(tx: TenantTx, order_id: uuid.UUID, now: datetime) -> bool:
    """A person asks for another attempt (after fixing the cause). False: nothing to retry."""
    queued = queue(tx, order_id, now)
    if queued:
        audit.record(tx, "shipment.retry_requested", Target("order", order_id), after={"carrier": CARRIER})
    return queued


def _form(row: Any) -> ShipmentForm:
    from lib.orders.store import order_code
    from lib.orders.views import amount_to_collect
    from lib.zeus.portal import ShipmentForm

    return ShipmentForm(
        reference=order_code(row.number),
        recipient=row.customer_name,
        document=row.document_number,
        phone=row.customer_phone,
        address_line=row.address_line,
        ubigeo=row.ubigeo,
        collect_cents=amount_to_collect(row),
        directions=row.address_reference,
    )


def _registered(ctx: TenantContext, shipment_id: uuid.UUID, job: jobs.Job, tracking: str) -> None:
    now = datetime.now(UTC)
    with tenant_transaction(ctx) as tx:
        current = tx.conn.execute(_LOCK, {"org": ctx.org_id, "id": shipment_id}).one()
        tx.conn.execute(
            _REGISTERED,
            {"org": ctx.org_id, "id": shipment_id, "tracking": tracking, "attempts": job.attempt, "now": now},
        )
        if current.screenshot_key is not None:
            deletions.schedule_deletion(tx, current.screenshot_key, now)
        audit.record(
            tx,
            "shipment.registered",
            Target("order", current.order_id),
            after={"carrier": CARRIER, "tracking_code": tracking, "attempts": job.attempt},
        )
    _log.info("zeus_shipment_registered", extra={"shipment_id": str(shipment_id), "attempt": job.attempt})


def _fail(ctx: TenantContext, shipment_id: uuid.UUID, job: jobs.Job, failure: Failure, screenshot: bytes | None) -> str:
    """Record the failure on the shipment; raise RetryLater while retrying makes sense, else end the
    job (the shipment needs review, and keeps what a person needs: its problem and screenshot)."""
    now = datetime.now(UTC)
    final = failure.permanent or job.final_attempt
    key = _store_screenshot(ctx.org_id, screenshot) if final and screenshot else None
    with tenant_transaction(ctx) as tx:
        current = tx.conn.execute(_LOCK, {"org": ctx.org_id, "id": shipment_id}).one()
        kept = key or current.screenshot_key
        tx.conn.execute(
            _FAILED,
            {
                "org": ctx.org_id,
                "id": shipment_id,
                "state": "needs_review" if final else "retrying",
                "attempts": job.attempt,
                "now": now,
                "problem": failure.problem,
                "detail": failure.detail[:300] or None,
                "screenshot": kept,
            },
        )
        if key is not None and current.screenshot_key is not None:
            deletions.schedule_deletion(tx, current.screenshot_key, now)
        if final:
            audit.record(
                tx,
                "shipment.needs_review",
                Target("order", current.order_id),
                after={"carrier": CARRIER, "problem": failure.problem, "attempts": job.attempt},
            )
    _log.warning(
        "zeus_shipment_failed",
        extra={"shipment_id": str(shipment_id), "problem": failure.problem, "attempt": job.attempt, "final": final},
    )
    if final:
        return f"needs_review: {failure.problem}"
    raise jobs.RetryLater(failure.problem)


def _screenshot(page: Page) -> bytes | None:
    try:
        return page.screenshot()
    except Exception as error:  # noqa: BLE001 - a missing screenshot must not hide the failure itself
        _log.warning("zeus_screenshot_failed", extra={"error": type(error).__name__})
        return None


def _store_screenshot(org_id: uuid.UUID, png: bytes) -> str | None:
    key = f"screenshots/{org_id}/{uuid.uuid4()}.png"
    try:
        object_store(settings()).put(key, png, "image/png")
    except StorageError:
        _log.warning("zeus_screenshot_not_stored", extra={"org_id": str(org_id)})
        return None
    return key


def _system_context(org_id: uuid.UUID, job_id: uuid.UUID) -> TenantContext:
    return TenantContext(
        org_id=org_id,
        actor=Actor.system(),
        request=RequestMeta(request_id=f"job-{job_id}", client_ip=None, user_agent=None),
    )
