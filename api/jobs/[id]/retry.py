"""POST /api/jobs/{id}/retry: queue a dead job again, due now, with a new retry budget."""

from datetime import UTC, datetime

from lib import dead_jobs
from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, Schema, function_app, requires
from lib.permissions import Permission


class Requeued(Schema):
    id: str
    kind: str
    state: str


def retry(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        job = dead_jobs.retry(tx, call.path_uuid(), datetime.now(UTC))
    return Reply(body=Requeued(id=str(job.id), kind=job.kind, state="pending"), status=202)


app = function_app(
    "/api/jobs/{id}/retry",
    Operation(
        "POST",
        retry,
        access=requires(Permission.JOBS_MANAGE),
        response=Requeued,
        status=202,
        errors=(409,),
        summary="Retry a dead job",
    ),
)
