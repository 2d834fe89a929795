"""POST /api/auth/password_reset: email a reset link if the address has an account.

The answer is the same whether or not it does.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from lib.auth.account import request_reset
from lib.http import PUBLIC, Call, Operation, Reply, Schema, function_app
from lib.http.schemas import text


class ResetRequest(Schema):
    email: Annotated[str, text(min_length=1, max_length=254)]


class ResetRequested(Schema):
    status: Literal["sent_if_registered"]


def request(call: Call[ResetRequest, None]) -> Reply:
    request_reset(call.body.email, call.meta, call.settings, datetime.now(UTC))
    return Reply(body=ResetRequested(status="sent_if_registered"), status=202)


app = function_app(
    "/api/auth/password_reset",
    Operation(
        "POST",
        request,
        access=PUBLIC,
        body=ResetRequest,
        response=ResetRequested,
        status=202,
        summary="Request a password reset link by email",
    ),
)
