"""GET /api/cron/purge_audit: remove audit events older than the retention period.

Called daily by Vercel Cron (vercel.json) with `Authorization: Bearer $CRON_SECRET`. The purge
runs in the database under the schema owner's function, which records the run.
"""

from lib.audit import purge_expired
from lib.http import CRON, Call, Operation, Schema, function_app


class PurgeRun(Schema):
    run_id: int
    removed: int
    retention_days: int


def purge(call: Call[None, None]) -> PurgeRun:
    days = call.settings.audit_retention_days
    result = purge_expired(days)
    return PurgeRun(run_id=result.run_id, removed=result.removed, retention_days=days)


app = function_app(
    "/api/cron/purge_audit",
    Operation("GET", purge, access=CRON, response=PurgeRun, summary="Purge expired audit events", errors=(401,)),
)
