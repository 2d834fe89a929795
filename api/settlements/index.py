"""/api/settlements: GET recent settlements; POST opens one for a rider's collections."""

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, Schema, function_app, requires, tagged
from lib.payments import collections
from lib.payments.schemas import Settlement, SettlementIn, SettlementList
from lib.permissions import Permission


class SettlementQuery(Schema):
    rider_id: UUID | None = None
    status: Literal["open", "closed"] | None = None


def listing(call: Call[None, SettlementQuery]) -> SettlementList:
    ctx, _ = call.require_tenant()
    return collections.listing(ctx, call.query.rider_id, call.query.status)


def open_one(call: Call[SettlementIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        settlement_id = collections.open_settlement(tx, call.body, datetime.now(UTC))
    settlement = collections.detail(ctx, settlement_id)
    return tagged(settlement, status=201)


app = function_app(
    "/api/settlements",
    Operation(
        "GET",
        listing,
        access=requires(Permission.SETTLEMENTS_MANAGE),
        query=SettlementQuery,
        response=SettlementList,
        summary="Recent settlements (the latest 200)",
    ),
    Operation(
        "POST",
        open_one,
        access=requires(Permission.SETTLEMENTS_MANAGE),
        body=SettlementIn,
        response=Settlement,
        status=201,
        summary="Open a settlement of a rider's cash-on-delivery collections",
    ),
)
