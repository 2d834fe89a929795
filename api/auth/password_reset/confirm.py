"""POST /api/auth/password_reset/confirm: set a new password with a reset token."""

from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta

from lib.auth.account import complete_reset
from lib.auth.views import TOKEN_PATTERN, NewPassword
from lib.http import PUBLIC, Call, Operation, Schema, function_app


class ResetConfirm(Schema):
    token: Annotated[str, Meta(pattern=TOKEN_PATTERN)]
    new_password: NewPassword


def confirm(call: Call[ResetConfirm, None]) -> None:
    complete_reset(call.body.token, call.body.new_password, call.meta, call.settings, datetime.now(UTC))


app = function_app(
    "/api/auth/password_reset/confirm",
    Operation(
        "POST",
        confirm,
        access=PUBLIC,
        body=ResetConfirm,
        status=204,
        errors=(404,),
        summary="Complete a password reset; ends every session of the account",
    ),
)
