"""/api/orders: GET lists and searches orders (keyset pages); POST captures a new one."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.orders import service
from lib.orders.schemas import DeliveryPage, Order, OrderIn, OrderListQuery, OrderPage
from lib.permissions import Permission


async def list_orders(call: Call[None, OrderListQuery]) -> OrderPage | DeliveryPage:
    ctx, _ = call.require_tenant()
    return await service.page(ctx, call.query)


def capture(call: Call[OrderIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        order_id = service.create(tx, call.body, datetime.now(UTC))
    order = service.detail(ctx, order_id)
    return tagged(order, status=201)


app = function_app(
    "/api/orders",
    Operation(
        "GET",
        list_orders,
        access=requires(Permission.ORDERS_READ),
        query=OrderListQuery,
        response=(OrderPage, DeliveryPage),
        summary="List and search orders, newest first",
    ),
    Operation(
        "POST",
        capture,
        access=requires(Permission.ORDERS_CREATE),
        body=OrderIn,
        response=Order,
        status=201,
        errors=(409,),
        summary="Capture an order (totals computed by the server)",
    ),
)
