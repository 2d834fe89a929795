"""PUT /api/auth/password: change one's own password (the current one is required)."""

from datetime import UTC, datetime
from typing import Annotated

from lib.auth.account import change_password
from lib.auth.views import NewPassword
from lib.db import tenant_transaction
from lib.http import Call, Operation, Schema, function_app, requires
from lib.http.schemas import text
from lib.permissions import Permission


class PasswordChange(Schema):
    current_password: Annotated[str, text(min_length=1, max_length=1024)]
    new_password: NewPassword


def change(call: Call[PasswordChange, None]) -> None:
    ctx, session = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        change_password(
            tx, session.session_id, call.body.current_password, call.body.new_password, call.settings, datetime.now(UTC)
        )


app = function_app(
    "/api/auth/password",
    Operation(
        "PUT",
        change,
        access=requires(Permission.PASSWORD_CHANGE),
        body=PasswordChange,
        status=204,
        errors=(403, 429),
        summary="Change your password; ends your other sessions",
    ),
)
