"""/api/orders/{id}: GET one order in the caller's view; PATCH edits it (If-Match: its version)."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.orders import service
from lib.orders.schemas import DeliveryOrder, Order, OrderChange
from lib.permissions import Permission


def read(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    order = service.detail(ctx, call.path_uuid())
    return tagged(order)


def change(call: Call[OrderChange, None]) -> Reply:
    ctx, _ = call.require_tenant()
    target = call.path_uuid()
    with tenant_transaction(ctx) as tx:
        service.edit(tx, target, call.if_match, call.body, datetime.now(UTC))
    order = service.detail(ctx, target)
    return tagged(order)


app = function_app(
    "/api/orders/{id}",
    Operation(
        "GET",
        read,
        access=requires(Permission.ORDERS_READ),
        response=(Order, DeliveryOrder),
        summary="An order, in the view your role allows",
    ),
    Operation(
        "PATCH",
        change,
        access=requires(Permission.ORDERS_EDIT),
        body=OrderChange,
        response=(Order, DeliveryOrder),
        if_match=True,
        summary="Edit an order",
    ),
)
