"""The jobs table: work that talks to the outside world, done later, with retries, never lost.

`enqueue(tx, kind, payload)` writes a job in the caller's transaction, so the job exists exactly
when the change that caused it does. The payload is sealed (lib/crypto, bound to the job's row):
emails carry one-time links and personal data. A cron drains each kind (`drain`):

1. it claims ONE due job at a time (`jobs_claim`, a database function, across organizations),
   and only while the run has time left for that job's worst case (`Kind.job_seconds`: the
   provider's timeouts). The claim counts the attempt, right before the attempt is made: a run
   stopped by its time limit has spent an attempt on the one job it was trying, never on jobs it
   had not reached;
2. the job is handled outside any transaction (a provider call must not hold a connection),
   with the job id as idempotency key, so a job handled twice has its effect once;
3. success marks it done and wipes the payload; a transient failure schedules a retry with
   capped exponential backoff (or the provider's Retry-After, if longer) while the job's retry
   budget lasts (`Kind.budget`, a time span from when it was queued: 72 hours by default); a
   permanent failure, or a spent budget, marks it dead. A dead job KEEPS its sealed payload until
   an ADMIN decides (lib/dead_jobs: retry or discard). A job whose worker died is claimed again
   when its lease ends; past its budget it is made dead instead.
"""

from __future__ import annotations

import logging
import time
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

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
DEFAULT_BUDGET = timedelta(hours=72)
HALT_PAUSE = timedelta(minutes=5)

_INSERT = text(
    """
    INSERT INTO jobs (id, org_id, kind, payload, run_after, retry_until)
    VALUES (:id, :org, :kind, :payload, :run_after, :retry_until)
    """
)
_CLAIM = text("SELECT job_id, org_id, attempts, retry_until FROM jobs_claim(:kind, 1, :now, :lease)")
_PAYLOAD = text("SELECT payload FROM jobs WHERE org_id = :org AND id = :id AND status = 'running'")
_DONE = text(
    "UPDATE jobs SET status = 'done', payload = NULL, result = :result, finished_at = :now, locked_until = NULL, "
    "last_error = NULL WHERE org_id = :org AND id = :id"
)
_RETRY = text(
    "UPDATE jobs SET status = 'pending', run_after = :run_after, locked_until = NULL, last_error = :error, "
    "first_error = coalesce(first_error, :error) WHERE org_id = :org AND id = :id"
)
_RELEASE = text(
    "UPDATE jobs SET status = 'pending', run_after = :run_after, locked_until = NULL, attempts = attempts - 1, "
    "last_error = :error WHERE org_id = :org AND id = :id AND status = 'running'"
)
_DEAD = text(
    "UPDATE jobs SET status = 'dead', finished_at = :now, locked_until = NULL, last_error = :error, "
    "first_error = coalesce(first_error, :error) WHERE org_id = :org AND id = :id"
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
    job back untouched (the attempt does not count) and leave the queue for a person to fix the cause."""


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID
    org_id: uuid.UUID
    attempt: int
    payload: Mapping[str, Any]
    # Whether a RetryLater from this attempt makes the job dead (so keep what a person needs).
    final_attempt: bool = False


Handler = Callable[[Job], str]


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of job and how its drain treats it."""

    name: str
    handler: Handler
    # The longest one job may take (the provider calls' timeouts): a run claims a job only if it
    # has this much time left, and the job's lease is twice as long.
    job_seconds: float
    budget: timedelta = DEFAULT_BUDGET

    @property
    def lease_seconds(self) -> int:
        return int(self.job_seconds * 2) + 1


@dataclass
class DrainReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    halted: str | None = None
    out_of_time: bool = False  # jobs may be due that this run had no time left for

    def add(self, other: DrainReport) -> None:
        self.done += other.done
        self.retried += other.retried
        self.dead += other.dead
        self.halted = self.halted or other.halted
        self.out_of_time = self.out_of_time or other.out_of_time


@dataclass(frozen=True, slots=True)
class RunClock:
    """How long a cron run may go on: its function's limit less a margin, from when it started.

    `now` is the run's start on the wall clock (tests move it); time passes on the monotonic clock."""

    now: datetime
    seconds: float
    started: float

    @classmethod
    def start(cls, now: datetime, seconds: float) -> RunClock:
        return cls(now=now, seconds=seconds, started=time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def moment(self) -> datetime:
        return self.now + timedelta(seconds=self.elapsed())

    def has_time_for(self, seconds: float) -> bool:
        return self.elapsed() + seconds <= self.seconds


def _context(org_id: uuid.UUID, job_id: uuid.UUID) -> SealContext:
    return JOB_PAYLOAD.context(org_id, job_id)


def seal_payload(org_id: uuid.UUID, job_id: uuid.UUID, payload: Mapping[str, Any]) -> bytes:
    return current_key_ring().seal(_encoder.encode(payload), _context(org_id, job_id))


def open_payload(org_id: uuid.UUID, job_id: uuid.UUID, sealed: bytes) -> Mapping[str, Any]:
    """The job's payload; SealError when it cannot be opened."""
    opened: Mapping[str, Any] = msgspec.json.decode(current_key_ring().open(sealed, _context(org_id, job_id)))
    return opened


def enqueue(
    tx: TenantTx, kind: str, payload: Mapping[str, Any], now: datetime, *, budget: timedelta = DEFAULT_BUDGET
) -> uuid.UUID:
    """Queue a job, due at `now`, retried while `budget` lasts from then."""
    job_id = uuid.uuid4()
    tx.conn.execute(
        _INSERT,
        {
            "id": job_id,
            "org": tx.ctx.org_id,
            "kind": kind,
            "payload": seal_payload(tx.ctx.org_id, job_id, payload),
            "run_after": now,
            "retry_until": now + budget,
        },
    )
    return job_id


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    delay: timedelta = FIRST_RETRY * 2 ** min(max(attempt - 1, 0), 20)
    return min(delay, MAX_RETRY)


def drain(kind: Kind, clock: RunClock, *, limit: int = 50) -> DrainReport:
    """Handle due jobs of `kind` one at a time, up to `limit`, while `clock` leaves time for one."""
    report = DrainReport()
    meta = RequestMeta(request_id="cron", client_ip=None, user_agent=None)
    for _ in range(limit):
        if not clock.has_time_for(kind.job_seconds):
            report.out_of_time = True
            break
        now = clock.moment()
        with unscoped_transaction() as conn:
            row = conn.execute(_CLAIM, {"kind": kind.name, "now": now, "lease": kind.lease_seconds}).one_or_none()
        if row is None:
            break
        ctx = TenantContext(org_id=row.org_id, actor=Actor.system(), request=meta)
        _attempt(kind, ctx, row, now, report)
        if report.halted is not None:
            break
    return report


def _attempt(kind: Kind, ctx: TenantContext, row: Any, now: datetime, report: DrainReport) -> None:
    with tenant_transaction(ctx) as tx:
        sealed = tx.conn.execute(_PAYLOAD, {"org": row.org_id, "id": row.job_id}).scalar_one_or_none()
    final = now + backoff(row.attempts) >= row.retry_until
    outcome: tuple[str, str | None, datetime | None]
    try:
        if sealed is None:
            raise GiveUp("payload missing")
        payload = open_payload(row.org_id, row.job_id, bytes(sealed))
        job = Job(id=row.job_id, org_id=row.org_id, attempt=row.attempts, payload=payload, final_attempt=final)
        outcome = ("done", kind.handler(job), None)
    except Halt as exc:
        report.halted = scrub_string(str(exc))[:500]
        _log.error("jobs_halted", extra={"kind": kind.name, "reason": report.halted, "job_id": str(row.job_id)})
        with tenant_transaction(ctx) as tx:
            params = {"org": ctx.org_id, "id": row.job_id, "run_after": now + HALT_PAUSE, "error": report.halted}
            tx.conn.execute(_RELEASE, params)
        return
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
        _log.exception("job_failed", extra={"job_id": str(row.job_id), "kind": kind.name})
        report_exception(exc, request_id=f"job-{row.job_id}", method="JOB", path=kind.name)
        outcome = ("retry", f"{type(exc).__name__}", now + backoff(row.attempts))
    status, detail, run_after = outcome
    if status == "retry" and run_after is not None and run_after >= row.retry_until:
        status = "dead"  # the budget is spent: a person decides (lib/dead_jobs)
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
            _log.error("job_dead", extra={"job_id": str(row.job_id), "kind": kind.name, "error": error})
