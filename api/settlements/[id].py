"""GET /api/settlements/{id}: expected vs collected vs handed over, with its orders and collections."""

from lib.http import Call, Operation, Reply, function_app, requires
from lib.payments import collections
from lib.payments.schemas import Settlement
from lib.permissions import Permission


def read(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    settlement = collections.detail(ctx, call.path_uuid())
    return Reply(body=settlement, headers={"ETag": f'"{settlement.version}"'})


app = function_app(
    "/api/settlements/{id}",
    Operation("GET", read, access=requires(Permission.SETTLEMENTS_MANAGE), response=Settlement, summary="A settlement"),
)
