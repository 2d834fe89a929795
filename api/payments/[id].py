"""/api/payments/{id}: GET a payment; PATCH edits it, DELETE removes it (If-Match: its version)."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.payments import service
from lib.payments.schemas import Payment, PaymentChange
from lib.permissions import Permission
from lib.storage import deletions


def read(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    payment = service.detail(ctx, call.path_uuid())
    return tagged(payment)


def change(call: Call[PaymentChange, None]) -> Reply:
    ctx, _ = call.require_tenant()
    target = call.path_uuid()
    with tenant_transaction(ctx) as tx:
        service.edit(tx, target, call.if_match, call.body, datetime.now(UTC))
    payment = service.detail(ctx, target)
    return tagged(payment)


def remove(call: Call[None, None]) -> None:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        proof_key = service.delete(tx, call.path_uuid(), call.if_match, datetime.now(UTC))
    if proof_key is not None:
        deletions.delete_now([proof_key])


app = function_app(
    "/api/payments/{id}",
    Operation("GET", read, access=requires(Permission.PAYMENTS_READ), response=Payment, summary="A payment"),
    Operation(
        "PATCH",
        change,
        access=requires(Permission.PAYMENTS_RECORD),
        body=PaymentChange,
        response=Payment,
        if_match=True,
        summary="Edit a payment (after review: SUPERVISOR or ADMIN)",
    ),
    Operation(
        "DELETE",
        remove,
        access=requires(Permission.PAYMENTS_RECORD),
        status=204,
        if_match=True,
        summary="Delete a payment and its proof",
    ),
)
