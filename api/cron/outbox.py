"""GET /api/cron/outbox: send queued emails (every minute, Vercel Cron with CRON_SECRET).

Each email is sent with its job id as the idempotency key; failures are retried with backoff
(or after the provider's Retry-After) and, after the last attempt, kept as dead jobs. When the
transport is misconfigured the run stops, the emails stay queued, and the cron answers 500 so
the failure shows in Vercel's cron log and in Sentry.
"""

from datetime import UTC, datetime

from lib.email.outbox import drain_outbox
from lib.http import CRON, Call, Operation, Schema, function_app


class OutboxRun(Schema):
    sent: int
    retrying: int
    dead: int


class OutboxHalted(RuntimeError):
    """Raised after the run so the error boundary reports it; nothing was lost."""


def drain(call: Call[None, None]) -> OutboxRun:
    report = drain_outbox(datetime.now(UTC))
    if report.halted is not None:
        raise OutboxHalted(report.halted)
    return OutboxRun(sent=report.done, retrying=report.retried, dead=report.dead)


app = function_app(
    "/api/cron/outbox",
    Operation("GET", drain, access=CRON, response=OutboxRun, summary="Send queued emails", errors=(401,)),
)
