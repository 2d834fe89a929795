"""POST /api/auth/login: email + password (+ a TOTP or recovery code) -> a session cookie."""

from datetime import UTC, datetime
from typing import Annotated

from lib.auth.login import login
from lib.auth.sessions import cookie_header
from lib.auth.views import SessionView, session_view
from lib.db import tenant_transaction
from lib.http import PUBLIC, Call, Operation, Reply, Schema, function_app
from lib.http.schemas import text
from lib.tenancy import Actor, TenantContext


class LoginRequest(Schema):
    email: Annotated[str, text(min_length=1, max_length=254)]
    password: Annotated[str, text(min_length=1, max_length=1024)]
    totp_code: Annotated[str, text(max_length=16)] | None = None
    recovery_code: Annotated[str, text(max_length=32)] | None = None


def sign_in(call: Call[LoginRequest, None]) -> Reply:
    body, settings = call.body, call.settings
    result = login(
        email=body.email,
        password=body.password,
        totp_code=body.totp_code,
        recovery_code=body.recovery_code,
        previous_token=call.cookies.get(settings.session_cookie_name),
        meta=call.meta,
        settings=settings,
        now=datetime.now(UTC),
    )
    session = result.session
    ctx = TenantContext(
        org_id=session.org_id, actor=Actor(user_id=session.user_id, role=session.role), request=call.meta
    )
    with tenant_transaction(ctx) as tx:
        view = session_view(tx, session)
    return Reply(body=view, headers={"Set-Cookie": cookie_header(settings, result.token)})


app = function_app(
    "/api/auth/login",
    Operation(
        "POST",
        sign_in,
        access=PUBLIC,
        body=LoginRequest,
        response=SessionView,
        errors=(401, 429),
        summary="Sign in; sets the session cookie",
    ),
)
