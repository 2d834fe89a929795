"""/api/orders/{id}/payments: GET the order's payments and derived payment status; POST one."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.payments import service
from lib.payments.schemas import Payment, PaymentIn, PaymentList
from lib.permissions import Permission


def listing(call: Call[None, None]) -> PaymentList:
    ctx, _ = call.require_tenant()
    return service.for_order(ctx, call.path_uuid())


def record(call: Call[PaymentIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        payment_id = service.create(tx, call.path_uuid(), call.body, datetime.now(UTC))
    payment = service.detail(ctx, payment_id)
    return tagged(payment, status=201)


app = function_app(
    "/api/orders/{id}/payments",
    Operation(
        "GET",
        listing,
        access=requires(Permission.PAYMENTS_READ),
        response=PaymentList,
        summary="An order's payments, paid and refunded amounts and payment status",
    ),
    Operation(
        "POST",
        record,
        access=requires(Permission.PAYMENTS_RECORD),
        body=PaymentIn,
        response=Payment,
        status=201,
        summary="Record a payment (or, for SUPERVISOR and ADMIN, a refund)",
    ),
)
