"""/api/orders/{id}: GET one order in the caller's view; PATCH edits it (If-Match: its version)."""

from datetime import UTC, datetime
from uuid import UUID

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, not_found, requires
from lib.orders import service
from lib.orders.schemas import DeliveryOrder, Order, OrderChange
from lib.permissions import Permission


def order_id(call: Call[object, object]) -> UUID:
    try:
        return UUID(call.path_params["id"])
    except ValueError:
        raise not_found() from None


def read(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    order = service.detail(ctx, order_id(call))
    return Reply(body=order, headers={"ETag": f'"{order.version}"'})


def change(call: Call[OrderChange, None]) -> Reply:
    ctx, _ = call.require_tenant()
    target = order_id(call)
    with tenant_transaction(ctx) as tx:
        service.edit(tx, target, call.if_match, call.body, datetime.now(UTC))
    order = service.detail(ctx, target)
    return Reply(body=order, headers={"ETag": f'"{order.version}"'})


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
