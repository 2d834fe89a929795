"""GET /api/settlements/{id}: expected vs collected vs handed over, with its orders and collections."""

from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.payments import collections
from lib.payments.schemas import Settlement
from lib.permissions import Permission


def read(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    settlement = collections.detail(ctx, call.path_uuid())
    return tagged(settlement)


app = function_app(
    "/api/settlements/{id}",
    Operation("GET", read, access=requires(Permission.SETTLEMENTS_MANAGE), response=Settlement, summary="A settlement"),
)
