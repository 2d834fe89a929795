"""The jobs table: work that talks to the outside world, done later, with retries, never lost.

`enqueue(tx, kind, payload)` writes a job in the caller's transaction, so the job exists exactly
when the change that caused it does. The payload is sealed (lib/crypto, bound to the job's row):
emails carry one-time links and personal data. A cron drains each kind:

1. `jobs_claim` (a database function, across organizations) leases due jobs: pending ones whose
   time has come, and running ones whose lease ran out because their worker died;
2. each job is handled outside any transaction (a provider call must not hold a connection),
   with the job id as idempotency key, so a job handled twice has its effect once;
3. success marks it done and wipes the payload; a transient failure schedules a retry with
   exponential backoff (or the provider's Retry-After, if longer); a permanent failure, or too
   many attempts, marks it dead for a person to look at. Nothing is deleted until the retention
   purge, 30 days after it finished.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text

from lib.crypto import SealContext, SealError
from lib.db import TenantTx, tenant_transaction, unscoped_transaction
from lib.key_ring import current_key_ring
from lib.monitoring import report_exception
from lib.redaction import scrub_string
from lib.sealed_columns import JOB_PAYLOAD
from lib.tenancy import Actor, RequestMeta, TenantContext

_log = logging.getLogger("zentro.jobs")

LEASE_SECONDS = 120
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)

_INSERT = text(
    """
    INSERT INTO jobs (id, org_id, kind, payload, run_after, max_attempts)
    VALUES (:id, :org, :kind, :payload, :run_after, :max_attempts)
    """
)
_CLAIM = text("SELECT job_id, org_id, attempts, max_attempts FROM jobs_claim(:kind, :limit, :now, :lease)")
_PAYLOAD = text("SELECT payload FROM jobs WHERE org_id = :org AND id = :id AND status = 'running'")
_DONE = text(
    "UPDATE jobs SET status = 'done', payload = NULL, result = :result, finished_at = :now, locked_until = NULL, "
    "last_error = NULL WHERE org_id = :org AND id = :id"
)
_RETRY = text(
    "UPDATE jobs SET status = 'pending', run_after = :run_after, locked_until = NULL, last_error = :error "
    "WHERE org_id = :org AND id = :id"
)
_RELEASE = text(
    "UPDATE jobs SET status = 'pending', run_after = :run_after, locked_until = NULL, attempts = attempts - 1, "
    "last_error = :error WHERE org_id = :org AND id = :id AND status = 'running'"
)
_DEAD = text(
    "UPDATE jobs SET status = 'dead', payload = NULL, finished_at = :now, locked_until = NULL, last_error = :error "
    "WHERE org_id = :org AND id = :id"
)

_encoder = msgspec.json.Encoder()


class RetryLater(Exception):
    """A transient failure: try again after `retry_after_seconds` (or the usual backoff)."""

    def __init__(self, reason: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds


class GiveUp(Exception):
    """A permanent failure: retrying cannot help."""


class Halt(Exception):
    """Nothing of this kind can succeed now (e.g. a wrong API key): stop the run, put the claimed
    jobs back untouched (the attempt does not count) and leave them for a person to fix the cause."""


HALT_PAUSE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID
    org_id: uuid.UUID
    attempt: int
    payload: Mapping[str, Any]
    max_attempts: int = 8

    @property
    def final_attempt(self) -> bool:
        """Whether a RetryLater from this attempt makes the job dead (so keep what a person needs)."""
        return self.attempt >= self.max_attempts


@dataclass
class DrainReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    halted: str | None = None


Handler = Callable[[Job], str]


def _context(org_id: uuid.UUID, job_id: uuid.UUID) -> SealContext:
    return JOB_PAYLOAD.context(org_id, job_id)


def enqueue(tx: TenantTx, kind: str, payload: Mapping[str, Any], now: datetime, *, max_attempts: int = 8) -> uuid.UUID:
    job_id = uuid.uuid4()
    sealed = current_key_ring().seal(_encoder.encode(payload), _context(tx.ctx.org_id, job_id))
    tx.conn.execute(
        _INSERT,
        {
            "id": job_id,
            "org": tx.ctx.org_id,
            "kind": kind,
            "payload": sealed,
            "run_after": now,
            "max_attempts": max_attempts,
        },
    )
    return job_id


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    delay: timedelta = FIRST_RETRY * 2 ** max(attempt - 1, 0)
    return min(delay, MAX_RETRY)


def drain(
    kind: str,
    handler: Handler,
    now: datetime,
    *,
    limit: int = 25,
    request_id: str = "cron",
    lease_seconds: int = LEASE_SECONDS,
) -> DrainReport:
    """Handle up to `limit` due jobs of `kind`.

    `lease_seconds` must outlast the slowest run of `limit` jobs: a job still running when its
    lease ends is handed to the next drain as if its worker had died.
    """
    report = DrainReport()
    with unscoped_transaction() as conn:
        claimed = conn.execute(_CLAIM, {"kind": kind, "limit": limit, "now": now, "lease": lease_seconds}).all()
    meta = RequestMeta(request_id=request_id, client_ip=None, user_agent=None)
    for row in claimed:
        ctx = TenantContext(org_id=row.org_id, actor=Actor.system(), request=meta)
        if report.halted is not None:
            _release(ctx, row.job_id, report.halted, now)
            continue
        with tenant_transaction(ctx) as tx:
            sealed = tx.conn.execute(_PAYLOAD, {"org": row.org_id, "id": row.job_id}).scalar_one_or_none()
        outcome: tuple[str, str | None, datetime | None]
        try:
            if sealed is None:
                raise GiveUp("payload missing")
            payload = msgspec.json.decode(current_key_ring().open(bytes(sealed), _context(row.org_id, row.job_id)))
            job = Job(
                id=row.job_id, org_id=row.org_id, attempt=row.attempts, payload=payload, max_attempts=row.max_attempts
            )
            result = handler(job)
            outcome = ("done", result, None)
        except Halt as exc:
            report.halted = scrub_string(str(exc))[:500]
            _log.error("jobs_halted", extra={"kind": kind, "reason": report.halted, "job_id": str(row.job_id)})
            _release(ctx, row.job_id, report.halted, now)
            continue
        except SealError:
            outcome = ("dead", "payload cannot be opened", None)
        except GiveUp as exc:
            outcome = ("dead", str(exc), None)
        except RetryLater as exc:
            wait = backoff(row.attempts)
            if exc.retry_after_seconds is not None:
                wait = max(wait, timedelta(seconds=exc.retry_after_seconds))
            outcome = ("retry", str(exc), now + wait)
        except Exception as exc:  # noqa: BLE001 - a bug in one job must not stop the others
            _log.exception("job_failed", extra={"job_id": str(row.job_id), "kind": kind})
            report_exception(exc, request_id=f"job-{row.job_id}", method="JOB", path=kind)
            outcome = ("retry", f"{type(exc).__name__}", now + backoff(row.attempts))
        status, detail, run_after = outcome
        if status == "retry" and row.attempts >= row.max_attempts:
            status = "dead"
        error = scrub_string(detail)[:500] if detail and status != "done" else None
        with tenant_transaction(ctx) as tx:
            params = {"org": row.org_id, "id": row.job_id, "now": now}
            if status == "done":
                tx.conn.execute(_DONE, {**params, "result": (detail or "")[:200]})
                report.done += 1
            elif status == "retry":
                tx.conn.execute(_RETRY, {**params, "run_after": run_after, "error": error})
                report.retried += 1
            else:
                tx.conn.execute(_DEAD, {**params, "error": error})
                report.dead += 1
                _log.error("job_dead", extra={"job_id": str(row.job_id), "kind": kind, "error": error})
    return report


def _release(ctx: TenantContext, job_id: uuid.UUID, reason: str, now: datetime) -> None:
    with tenant_transaction(ctx) as tx:
        tx.conn.execute(_RELEASE, {"org": ctx.org_id, "id": job_id, "run_after": now + HALT_PAUSE, "error": reason})
