"""/api/orders/{id}/shipment: the order's Zeus registration. GET its state; POST to retry it.

POST queues another attempt when the shipment needs review (after fixing the cause: the
credentials, the district, the portal), or registers a dispatched Zeus order that has none.
"""

from datetime import UTC, datetime

from lib.http import Call, Operation, Reply, function_app, requires
from lib.orders.schemas import Shipment
from lib.permissions import Permission
from lib.zeus import review


def read(call: Call[None, None]) -> Shipment:
    ctx, _ = call.require_tenant()
    return review.view(ctx, call.path_uuid())


def retry(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    return Reply(body=review.retry(ctx, call.path_uuid(), datetime.now(UTC)), status=202)


app = function_app(
    "/api/orders/{id}/shipment",
    Operation("GET", read, access=requires(Permission.ORDERS_READ), response=Shipment, summary="The Zeus shipment"),
    Operation(
        "POST",
        retry,
        access=requires(Permission.SHIPMENTS_MANAGE),
        response=Shipment,
        status=202,
        errors=(409,),
        summary="Queue the Zeus registration again",
    ),
)
