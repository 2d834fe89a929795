"""Burst limits on the requests that move the most data: exports, imports, proof uploads.

ASVS V2.4.1: a person (or a script with their session) may make `allowed` requests of one kind per
`window`; the next ones, until the window ends, answer 429 with Retry-After, before any of their
work (parsing the file, counting the rows, streaming). Login has its own, stricter, throttle
(lib/auth/throttle).

- Counted in Postgres (table request_bursts, migration 0007), so every instance of every function
  sees the same count. One upsert: concurrent requests serialise on the row, none is lost.
- Counted in a transaction of its own, committed before the work starts: a request that then fails
  (a broken file, a stale version, a refused proof) still counts, so a script cannot hammer the
  validation for free. A refused request counts too, but does not push the window on.
- Per person and organization, under row-level security like every tenant table.

The limits are above what a person at a screen does (a few exports while trying filters, a dry
run after each fix of a file, a screenshot per payment) and far below what a loop does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from lib.db import tenant_transaction
from lib.http.errors import ApiError
from lib.logs import security_log
from lib.tenancy import TenantContext


@dataclass(frozen=True, slots=True)
class Burst:
    kind: str  # dotted snake_case, e.g. "orders.export"
    allowed: int  # requests per window
    window: timedelta


ORDER_EXPORT = Burst("orders.export", allowed=5, window=timedelta(minutes=1))
ORDER_IMPORT = Burst("orders.import", allowed=10, window=timedelta(minutes=1))
PROOF_UPLOAD = Burst("payments.proof_upload", allowed=30, window=timedelta(minutes=1))

_SPEND = text(
    """
    INSERT INTO request_bursts AS b (org_id, user_id, kind, window_started_at, hits)
    VALUES (:org, :user, :kind, :now, 1)
    ON CONFLICT (org_id, user_id, kind) DO UPDATE SET
        window_started_at = CASE WHEN b.window_started_at <= :window_start THEN :now ELSE b.window_started_at END,
        hits = CASE WHEN b.window_started_at <= :window_start THEN 1 ELSE b.hits + 1 END
    RETURNING hits, window_started_at
    """
)


def spend(ctx: TenantContext, burst: Burst, now: datetime) -> None:
    """Count one request of `burst`'s kind for `ctx`'s person; 429 when their window is used up."""
    user = ctx.actor.user_id
    if user is None:
        raise ValueError("burst limits count people; the system itself has none")
    with tenant_transaction(ctx) as tx:
        hits, started = tx.conn.execute(
            _SPEND,
            {"org": ctx.org_id, "user": user, "kind": burst.kind, "now": now, "window_start": now - burst.window},
        ).one()
    if hits <= burst.allowed:
        return
    retry = max(1, math.ceil((started + burst.window - now).total_seconds()))
    security_log.info("burst_limited", extra={"kind": burst.kind, "actor": str(user), "hits": hits})
    raise ApiError("too_many_requests", 429, params={"seconds": retry}, headers={"Retry-After": str(retry)})
