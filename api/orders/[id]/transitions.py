"""POST /api/orders/{id}/transitions: move an order along its lifecycle (If-Match: its version)."""

from datetime import UTC, datetime
from uuid import UUID

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, not_found, requires
from lib.orders import service
from lib.orders.schemas import DeliveryOrder, Order, TransitionIn
from lib.permissions import Permission


def apply(call: Call[TransitionIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    try:
        target = UUID(call.path_params["id"])
    except ValueError:
        raise not_found() from None
    with tenant_transaction(ctx) as tx:
        service.transition(tx, target, call.if_match, call.body, datetime.now(UTC))
    order = service.detail(ctx, target)
    return Reply(body=order, headers={"ETag": f'"{order.version}"'})


app = function_app(
    "/api/orders/{id}/transitions",
    Operation(
        "POST",
        apply,
        access=requires(Permission.ORDERS_TRANSITION),
        body=TransitionIn,
        response=(Order, DeliveryOrder),
        if_match=True,
        summary="Confirm, prepare, dispatch, deliver...",
    ),
)
