"""/api/orders/export: GET the orders of a filter as a CSV file, in the caller's view."""

from datetime import UTC, datetime

from lib import bursts
from lib.http import Call, Operation, Reply, Stream, function_app, requires
from lib.orders import exports
from lib.orders.schemas import OrderFilters
from lib.permissions import Permission


def export_orders(call: Call[None, OrderFilters]) -> Reply:
    ctx, _ = call.require_tenant()
    bursts.spend(ctx, bursts.ORDER_EXPORT, datetime.now(UTC))
    chunks = exports.start(ctx, call.query)
    return Reply(body=Stream(chunks, media_type="text/csv; charset=utf-8", filename=exports.filename()))


app = function_app(
    "/api/orders/export",
    Operation(
        "GET",
        export_orders,
        access=requires(Permission.ORDERS_EXPORT),
        query=OrderFilters,
        streams="text/csv",
        errors=(429,),
        summary="Export the orders of a filter as CSV (formula-safe; columns follow your role)",
    ),
)
