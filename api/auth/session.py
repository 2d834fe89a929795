"""GET /api/auth/session: who is signed in, for which organization, allowed to do what."""

from lib.auth.views import SessionView, session_view
from lib.db import tenant_transaction
from lib.http import Call, Operation, function_app, requires
from lib.permissions import Permission


def current(call: Call[None, None]) -> SessionView:
    ctx, session = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        return session_view(tx, session)


app = function_app(
    "/api/auth/session",
    Operation(
        "GET",
        current,
        access=requires(Permission.SESSION_READ),
        response=SessionView,
        summary="The current user, organization, role and permissions",
    ),
)
