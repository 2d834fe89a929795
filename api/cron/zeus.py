"""GET /api/cron/zeus: register dispatched orders' shipments on the Zeus portal (every minute).

Each queued shipment is one Browserbase session (lib/zeus/shipments): up to JOBS_PER_RUN per run,
one at a time and only while the function's 300 s leave time for one more. Failures are retried
with backoff, then left for review with a screenshot. When Browserbase refuses our API key the
run stops, every job stays queued, and the cron answers 500 so the failure shows in Vercel's cron
log and in Sentry.
"""

from datetime import UTC, datetime

from lib.http import CRON, Call, Operation, Schema, function_app
from lib.jobs import RunClock
from lib.zeus import shipments


class ZeusRun(Schema):
    registered: int
    retrying: int
    needs_review: int


class ZeusHalted(RuntimeError):
    """Raised after the run so the error boundary reports it; nothing was lost."""


def drain(call: Call[None, None]) -> ZeusRun:
    report = shipments.drain(RunClock.start(datetime.now(UTC), shipments.RUN_SECONDS))
    if report.halted is not None:
        raise ZeusHalted(report.halted)
    return ZeusRun(registered=report.done, retrying=report.retried, needs_review=report.dead)


app = function_app(
    "/api/cron/zeus",
    Operation("GET", drain, access=CRON, response=ZeusRun, summary="Register queued Zeus shipments", errors=(401,)),
)
