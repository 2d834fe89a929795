"""POST /api/auth/invitation: accept an invitation (set the first password) and sign in."""

from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta

from lib.auth import sessions
from lib.auth.account import accept_invitation
from lib.auth.views import TOKEN_PATTERN, NewPassword, SessionView, session_view
from lib.db import tenant_transaction
from lib.http import PUBLIC, Call, Operation, Reply, Schema, function_app
from lib.http.schemas import text
from lib.tenancy import Actor, TenantContext


class Acceptance(Schema):
    token: Annotated[str, Meta(pattern=TOKEN_PATTERN)]
    password: NewPassword
    full_name: Annotated[str, text(min_length=1, max_length=200)] | None = None


def accept(call: Call[Acceptance, None]) -> Reply:
    now = datetime.now(UTC)
    body, settings = call.body, call.settings
    token, session = accept_invitation(body.token, body.password, body.full_name, call.meta, settings, now)
    ctx = TenantContext(
        org_id=session.org_id, actor=Actor(user_id=session.user_id, role=session.role), request=call.meta
    )
    with tenant_transaction(ctx) as tx:
        view = session_view(tx, session)
    return Reply(body=view, headers={"Set-Cookie": sessions.cookie_header(settings, token)})


app = function_app(
    "/api/auth/invitation",
    Operation(
        "POST",
        accept,
        access=PUBLIC,
        body=Acceptance,
        response=SessionView,
        errors=(404, 409),
        summary="Accept an invitation: set your password and sign in",
    ),
)
