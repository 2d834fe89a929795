"""GET /api/cron/retention: daily removal of data past its retention period.

Called by Vercel Cron (vercel.json) with `Authorization: Bearer $CRON_SECRET`. Both purges run
in the database as functions owned by the schema owner, each recording its run in
`maintenance_runs`:

- audit events older than AUDIT_RETENTION_DAYS (90 at least);
- sessions, one-time tokens, and done or discarded jobs 30 days after they expired, were used
  or finished (dead jobs wait for a person: lib/dead_jobs), idle throttle counters, and
  password-reset requests older than a day.
"""

from datetime import UTC, datetime

from lib.audit import purge_expired
from lib.auth.retention import purge_expired_auth_data
from lib.http import CRON, Call, Operation, Schema, function_app


class RetentionRun(Schema):
    audit_run_id: int
    audit_removed: int
    retention_days: int
    auth_run_id: int
    auth_removed: int


def purge(call: Call[None, None]) -> RetentionRun:
    days = call.settings.audit_retention_days
    audit_result = purge_expired(days)
    auth_result = purge_expired_auth_data(datetime.now(UTC))
    return RetentionRun(
        audit_run_id=audit_result.run_id,
        audit_removed=audit_result.removed,
        retention_days=days,
        auth_run_id=auth_result.run_id,
        auth_removed=auth_result.removed,
    )


app = function_app(
    "/api/cron/retention",
    Operation("GET", purge, access=CRON, response=RetentionRun, summary="Purge data past its retention", errors=(401,)),
)
