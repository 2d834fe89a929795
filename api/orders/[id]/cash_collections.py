"""POST /api/orders/{id}/cash_collections: the rider records what they collected at the door."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires
from lib.payments import collections
from lib.payments.schemas import Collection, CollectionIn
from lib.permissions import Permission


def record(call: Call[CollectionIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        collected = collections.record(tx, call.path_uuid(), call.body, datetime.now(UTC))
    return Reply(body=collected, status=201)


app = function_app(
    "/api/orders/{id}/cash_collections",
    Operation(
        "POST",
        record,
        access=requires(Permission.COLLECTIONS_RECORD),
        body=CollectionIn,
        response=Collection,
        status=201,
        summary="Record cash (or Yape/Plin) collected on delivery",
    ),
)
