"""GET /api/orders/{id}/timeline: who did what to the order, and when."""

from uuid import UUID

from lib.http import Call, Operation, function_app, not_found, requires
from lib.orders import service
from lib.orders.schemas import Timeline
from lib.permissions import Permission


def read(call: Call[None, None]) -> Timeline:
    ctx, _ = call.require_tenant()
    try:
        target = UUID(call.path_params["id"])
    except ValueError:
        raise not_found() from None
    return service.timeline(ctx, target)


app = function_app(
    "/api/orders/{id}/timeline",
    Operation(
        "GET", read, access=requires(Permission.ORDERS_TIMELINE), response=Timeline, summary="The order's audit trail"
    ),
)
