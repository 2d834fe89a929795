"""GET /api/orders/{id}/timeline: who did what to the order, and when."""

from lib.http import Call, Operation, function_app, requires
from lib.orders import service
from lib.orders.schemas import Timeline
from lib.permissions import Permission


def read(call: Call[None, None]) -> Timeline:
    ctx, _ = call.require_tenant()
    target = call.path_uuid()
    return service.timeline(ctx, target)


app = function_app(
    "/api/orders/{id}/timeline",
    Operation(
        "GET", read, access=requires(Permission.ORDERS_TIMELINE), response=Timeline, summary="The order's audit trail"
    ),
)
