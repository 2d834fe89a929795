"""POST /api/orders/{id}/transitions: move an order along its lifecycle (If-Match: its version)."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.orders import service
from lib.orders.schemas import DeliveryOrder, Order, TransitionIn
from lib.permissions import Permission


def apply(call: Call[TransitionIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    target = call.path_uuid()
    with tenant_transaction(ctx) as tx:
        service.transition(tx, target, call.if_match, call.body, datetime.now(UTC))
    order = service.detail(ctx, target)
    return tagged(order)


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
