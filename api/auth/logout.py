"""POST /api/auth/logout: end this session on the server and clear the cookie."""

from datetime import UTC, datetime

from lib.auth.login import logout
from lib.auth.sessions import clearing_cookie_header
from lib.http import Call, Operation, Reply, function_app, requires
from lib.permissions import Permission


def sign_out(call: Call[None, None]) -> Reply:
    _, session = call.require_tenant()
    logout(session, call.meta, datetime.now(UTC))
    return Reply(status=204, headers={"Set-Cookie": clearing_cookie_header(call.settings)})


app = function_app(
    "/api/auth/logout",
    Operation("POST", sign_out, access=requires(Permission.SESSION_END), status=204, summary="Sign out"),
)
