"""DELETE /api/jobs/{id}: discard a dead job (its sealed payload is wiped)."""

from datetime import UTC, datetime

from lib import dead_jobs
from lib.db import tenant_transaction
from lib.http import Call, Operation, function_app, requires
from lib.permissions import Permission


def discard(call: Call[None, None]) -> None:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        dead_jobs.discard(tx, call.path_uuid(), datetime.now(UTC))


app = function_app(
    "/api/jobs/{id}",
    Operation(
        "DELETE",
        discard,
        access=requires(Permission.JOBS_MANAGE),
        status=204,
        errors=(409,),
        summary="Discard a dead job",
    ),
)
