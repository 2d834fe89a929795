"""POST /api/settlements/{id}/close: record the cash handed over and verify the collections."""

from datetime import UTC, datetime

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.payments import collections
from lib.payments.schemas import Settlement, SettlementClose
from lib.permissions import Permission


def close(call: Call[SettlementClose, None]) -> Reply:
    ctx, _ = call.require_tenant()
    target = call.path_uuid()
    with tenant_transaction(ctx) as tx:
        collections.close(tx, target, call.if_match, call.body, datetime.now(UTC))
    settlement = collections.detail(ctx, target)
    return tagged(settlement)


app = function_app(
    "/api/settlements/{id}/close",
    Operation(
        "POST",
        close,
        access=requires(Permission.SETTLEMENTS_MANAGE),
        body=SettlementClose,
        response=Settlement,
        if_match=True,
        summary="Close a settlement (a shortfall or collection gap needs a reason)",
    ),
)
