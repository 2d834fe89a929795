"""GET /api/cron/outbox: do the queued work that talks to providers (every minute, Vercel Cron).

- emails: each is sent with its job id as the idempotency key;
- file deletions: payment proofs whose payment was deleted, replaced or anonymised are removed
  from storage (deleting a missing file succeeds, so a repeat is harmless).

Failures are retried with backoff (or after the provider's Retry-After) and, after the last
attempt, kept as dead jobs. When the email transport is misconfigured the run stops, the emails
stay queued, and the cron answers 500 so the failure shows in Vercel's cron log and in Sentry.
"""

from datetime import UTC, datetime

from lib.email.outbox import drain_outbox
from lib.http import CRON, Call, Operation, Schema, function_app
from lib.storage.deletions import drain_deletions


class OutboxRun(Schema):
    sent: int
    retrying: int
    dead: int
    files_deleted: int
    files_retrying: int


class OutboxHalted(RuntimeError):
    """Raised after the run so the error boundary reports it; nothing was lost."""


def drain(call: Call[None, None]) -> OutboxRun:
    now = datetime.now(UTC)
    report = drain_outbox(now)
    files = drain_deletions(now)
    if report.halted is not None:
        raise OutboxHalted(report.halted)
    return OutboxRun(
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
