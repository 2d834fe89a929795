"""GET /api/reports/riders?day=YYYY-MM-DD: per rider, one day in Lima, cash on delivery."""

from lib.http import Call, Operation, function_app, requires
from lib.payments import collections
from lib.payments.schemas import RiderDayQuery, RiderDayReport
from lib.permissions import Permission


def report(call: Call[None, RiderDayQuery]) -> RiderDayReport:
    ctx, _ = call.require_tenant()
    return collections.rider_day(ctx, call.query.day)


app = function_app(
    "/api/reports/riders",
    Operation(
        "GET",
        report,
        access=requires(Permission.REPORTS_RIDERS),
        query=RiderDayQuery,
        response=RiderDayReport,
        summary="Orders delivered, to collect, collected, handed over and pending, per rider",
    ),
)
