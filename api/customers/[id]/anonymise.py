"""POST /api/customers/{id}/anonymise: erase a customer's personal data (ADMIN; Law 29733, GDPR)."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, function_app, requires
from lib.orders.erasure import Anonymised, anonymise
from lib.permissions import Permission
from lib.storage import deletions


def run(call: Call[None, None]) -> Anonymised:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        result, proof_keys = anonymise(tx, call.path_uuid(), datetime.now(UTC))
    deletions.delete_now(proof_keys)
    return result


app = function_app(
    "/api/customers/{id}/anonymise",
    Operation(
        "POST",
        run,
        access=requires(Permission.CUSTOMERS_ANONYMISE),
        response=Anonymised,
        summary="Anonymise a customer: their orders keep amounts, lose who and where",
    ),
)
