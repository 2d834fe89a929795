"""DELETE /api/users/{id}/mfa: an ADMIN resets a user's second factor (lost phone)."""

from datetime import UTC, datetime

from lib.auth import mfa
from lib.db import tenant_transaction
from lib.http import Call, Operation, function_app, requires
from lib.permissions import Permission


def reset(call: Call[None, None]) -> None:
    ctx, _ = call.require_tenant()
    user_id = call.path_uuid()
    with tenant_transaction(ctx) as tx:
        mfa.admin_reset(tx, user_id, datetime.now(UTC))


app = function_app(
    "/api/users/{id}/mfa",
    Operation(
        "DELETE",
        reset,
        access=requires(Permission.USERS_MANAGE),
        status=204,
        errors=(409,),
        summary="Reset a user's two-step verification; ends their sessions",
    ),
)
