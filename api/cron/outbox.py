"""GET /api/cron/outbox: do the queued work that talks to providers (every minute, Vercel Cron).

- password-reset requests: the link is issued and queued for an active account (lib/auth/reset_requests);
- emails: each is sent with its job id as the idempotency key;
- file deletions: payment proofs whose payment was deleted, replaced or anonymised are removed
  from storage (deleting a missing file succeeds, so a repeat is harmless).

Jobs are claimed one at a time, each only while the run has time left for its slowest case, so
a run stopped by its time limit (vercel.json: 60 s) has spent an attempt on one job at most.
Failures are retried with backoff (or after the provider's Retry-After) for 72 hours, then kept
as dead jobs, payload and all, for an ADMIN to retry or discard. When the email transport is
misconfigured the run stops, the emails stay queued, and the cron answers 500 so the failure
shows in Vercel's cron log and in Sentry.
"""

from datetime import UTC, datetime

from lib import outbox_cron
from lib.http import CRON, Call, Operation, Schema, function_app
from lib.jobs import RunClock


class OutboxRun(Schema):
    reset_requests: int
    sent: int
    retrying: int
    dead: int
    files_deleted: int
    files_retrying: int


class OutboxHalted(RuntimeError):
    """Raised after the run so the error boundary reports it; nothing was lost."""


def drain(call: Call[None, None]) -> OutboxRun:
    run = outbox_cron.run(RunClock.start(datetime.now(UTC), outbox_cron.RUN_SECONDS))
    report, files = run.emails, run.files
    if report.halted is not None:
        raise OutboxHalted(report.halted)
    return OutboxRun(
        reset_requests=run.reset_requests,
        sent=report.done,
        retrying=report.retried,
        dead=report.dead + files.dead,
        files_deleted=files.done,
        files_retrying=files.retried,
    )


app = function_app(
    "/api/cron/outbox",
    Operation(
        "GET",
        drain,
        access=CRON,
        response=OutboxRun,
        summary="Send queued emails, delete released files",
        errors=(401,),
    ),
)
