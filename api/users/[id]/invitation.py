"""POST /api/users/{id}/invitation: send an invited user a fresh invitation (earlier links stop working)."""

from datetime import UTC, datetime

from lib import users
from lib.auth.views import UserView, user_view
from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, function_app, requires
from lib.permissions import Permission


def resend(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        user = users.resend_invitation(tx, call.path_uuid(), call.settings.app_base_url, datetime.now(UTC))
    return Reply(body=user_view(user), status=202)


app = function_app(
    "/api/users/{id}/invitation",
    Operation(
        "POST",
        resend,
        access=requires(Permission.USERS_MANAGE),
        response=UserView,
        status=202,
        errors=(409,),
        summary="Send an invited user a new invitation link",
    ),
)
