"""Dead jobs, kept for a person to decide: see why, then retry or discard.

A job is dead when its work failed for good or its retry budget ran out (lib/jobs). It keeps its
sealed payload, so nothing is lost: an ADMIN of its organization sees it (kind, attempts, first
and last error, and for an email its template and recipient), and either retries it (pending
again, due now, with a new budget) or discards it (its payload is wiped, and the purge removes it
30 days later). Both decisions are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from lib import audit, jobs
from lib.audit import Target
from lib.crypto import SealError
from lib.db import TenantTx
from lib.http.errors import ApiError, object_not_found

LIST_LIMIT = 200

_COLUMNS = "id, kind, attempts, first_error, last_error, created_at, last_attempt_at, finished_at, payload"
_DEAD = text(
    f"SELECT {_COLUMNS} FROM jobs WHERE org_id = :org AND status = 'dead' ORDER BY finished_at DESC, id LIMIT :limit"
)
_LOCK = text(f"SELECT {_COLUMNS}, status FROM jobs WHERE org_id = :org AND id = :id FOR NO KEY UPDATE")
_RETRY = text(
    "UPDATE jobs SET status = 'pending', run_after = :now, retry_until = :until, finished_at = NULL "
    "WHERE org_id = :org AND id = :id AND status = 'dead'"
)
_DISCARD = text(
    "UPDATE jobs SET status = 'discarded', payload = NULL, finished_at = :now "
    "WHERE org_id = :org AND id = :id AND status = 'dead'"
)


@dataclass(frozen=True, slots=True)
class DeadJob:
    id: uuid.UUID
    kind: str
    attempts: int
    first_error: str | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    dead_since: datetime
    # For an email: which message, to whom (what a person needs to decide whether to send it again).
    email_template: str | None
    recipient: str | None


def _dead_job(org_id: uuid.UUID, row: Any) -> DeadJob:
    template = recipient = None
    if row.kind == "email" and row.payload is not None:
        try:
            payload = jobs.open_payload(org_id, row.id, bytes(row.payload))
            template, recipient = str(payload.get("template")), str(payload.get("to"))
        except SealError:
            pass  # listed all the same: its last error says the payload cannot be opened
    return DeadJob(
        id=row.id,
        kind=row.kind,
        attempts=row.attempts,
        first_error=row.first_error,
        last_error=row.last_error,
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        dead_since=row.finished_at,
        email_template=template,
        recipient=recipient,
    )


def list_dead(tx: TenantTx) -> list[DeadJob]:
    """The organization's dead jobs, most recent first (at most LIST_LIMIT)."""
    rows = tx.conn.execute(_DEAD, {"org": tx.ctx.org_id, "limit": LIST_LIMIT})
    return [_dead_job(tx.ctx.org_id, row) for row in rows]


def _locked_dead(tx: TenantTx, job_id: uuid.UUID) -> DeadJob:
    row = tx.conn.execute(_LOCK, {"org": tx.ctx.org_id, "id": job_id}).one_or_none()
    if row is None:
        raise object_not_found("job", job_id, tx.ctx.actor.user_id)
    if row.status != "dead":
        raise ApiError("job_not_dead", 409)
    return _dead_job(tx.ctx.org_id, row)


def retry(tx: TenantTx, job_id: uuid.UUID, now: datetime) -> DeadJob:
    """Make a dead job pending again, due now, with a fresh retry budget."""
    job = _locked_dead(tx, job_id)
    tx.conn.execute(_RETRY, {"org": tx.ctx.org_id, "id": job_id, "now": now, "until": now + jobs.DEFAULT_BUDGET})
    audit.record(tx, "job.retried", Target("job", job_id), after={"kind": job.kind, "attempts": job.attempts})
    return job


def discard(tx: TenantTx, job_id: uuid.UUID, now: datetime) -> None:
    """Give a dead job up for good: its sealed payload is wiped."""
    job = _locked_dead(tx, job_id)
    tx.conn.execute(_DISCARD, {"org": tx.ctx.org_id, "id": job_id, "now": now})
    audit.record(tx, "job.discarded", Target("job", job_id), after={"kind": job.kind, "attempts": job.attempts})
