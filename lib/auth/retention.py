"""Removing authentication data once it is no longer needed (run daily by the retention cron)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from lib.audit import PurgeResult
from lib.db import unscoped_transaction

_PURGE = text("SELECT run_id, removed FROM auth_purge_expired(:now)")


def purge_expired_auth_data(now: datetime) -> PurgeResult:
    """Sessions, one-time tokens, done and discarded jobs 30 days past their end; idle throttle
    rows; reset requests older than a day (migration 0008, `auth_purge_expired`)."""
    with unscoped_transaction() as conn:
        row = conn.execute(_PURGE, {"now": now}).one()
    return PurgeResult(run_id=int(row.run_id), removed=int(row.removed))
