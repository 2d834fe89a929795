"""GET /api/jobs?state=dead: the organization's dead jobs, for an ADMIN to retry or discard."""

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from lib import dead_jobs
from lib.db import tenant_transaction
from lib.http import Call, Operation, Schema, function_app, requires
from lib.permissions import Permission


class JobQuery(Schema):
    state: Literal["dead"]


class DeadJobView(Schema):
    id: UUID
    kind: str
    attempts: int
    first_error: str | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    dead_since: datetime
    email_template: str | None
    recipient: str | None


class JobList(Schema):
    jobs: list[DeadJobView]


def list_jobs(call: Call[None, JobQuery]) -> JobList:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        dead = dead_jobs.list_dead(tx)
    return JobList(jobs=[msgspec.convert(job, DeadJobView, from_attributes=True) for job in dead])


app = function_app(
    "/api/jobs",
    Operation(
        "GET",
        list_jobs,
        access=requires(Permission.JOBS_MANAGE),
        query=JobQuery,
        response=JobList,
        summary="Dead jobs (work that failed for good or ran out of retries), newest first",
    ),
)
