"""GET /api/health: 200 when the database answers, 503 when it does not.

Says nothing else: no versions, no hostnames, no timings an attacker could use.
"""

from typing import Literal

from lib.db import database_reachable
from lib.http import PUBLIC, Call, Operation, Schema, function_app
from lib.http.error_boundary import UNAVAILABLE_RETRY_AFTER
from lib.http.errors import service_unavailable


class Health(Schema):
    status: Literal["ok"]


def health(call: Call[None, None]) -> Health:
    if not database_reachable():
        raise service_unavailable(UNAVAILABLE_RETRY_AFTER)
    return Health(status="ok")


app = function_app(
    "/api/health",
    Operation(
        "GET", health, access=PUBLIC, response=Health, summary="Liveness and database reachability", errors=(503,)
    ),
)
