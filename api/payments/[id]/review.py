"""POST /api/payments/{id}/review: verify or reject a payment (If-Match: its version)."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.payments import service
from lib.payments.schemas import Payment, ReviewIn
from lib.permissions import Permission


def review(call: Call[ReviewIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    target = call.path_uuid()
    with tenant_transaction(ctx) as tx:
        service.review(tx, target, call.if_match, call.body, datetime.now(UTC))
    payment = service.detail(ctx, target)
    return tagged(payment)


app = function_app(
    "/api/payments/{id}/review",
    Operation(
        "POST",
        review,
        access=requires(Permission.PAYMENTS_REVIEW),
        body=ReviewIn,
        response=Payment,
        if_match=True,
        summary="Verify or reject a payment (a reused receipt needs an override reason)",
    ),
)
