"""POST /api/auth/password_reset: email a reset link if the address has an account.

The answer, and the work done before it, are the same whether or not it does: the request is
stored and the outbox cron sends the link (lib/auth/reset_requests). Ten requests per client
address an hour; past that, 429.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from lib.auth import reset_requests
from lib.http import PUBLIC, Call, Operation, Reply, Schema, function_app
from lib.http.schemas import text


class ResetRequest(Schema):
    email: Annotated[str, text(min_length=1, max_length=254)]


class ResetRequested(Schema):
    status: Literal["sent_if_registered"]


def request(call: Call[ResetRequest, None]) -> Reply:
    reset_requests.submit(call.body.email, call.meta, call.settings, datetime.now(UTC))
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
        errors=(429,),
        summary="Request a password reset link by email",
    ),
)
