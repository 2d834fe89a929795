"""/api/integrations/zeus: the organization's Zeus portal credentials (ADMIN only).

GET shows what is connected (portal URL, a hint of the username, who set it and when, the last
test), never the username or password. PUT connects or replaces (201 when new); DELETE removes.
Every change is audited. A sent If-Match must be the current version.
"""

from datetime import UTC, datetime

from lib import integrations
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.integrations import Integration, ZeusCredentialsIn
from lib.permissions import Permission


def read(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    return tagged(integrations.view(ctx, "zeus"))


def connect(call: Call[ZeusCredentialsIn, None]) -> Reply:
    ctx, _ = call.require_tenant()
    view, created = integrations.connect(ctx, "zeus", call.body, call.if_match, datetime.now(UTC))
    return tagged(view, status=201 if created else 200)


def remove(call: Call[None, None]) -> None:
    ctx, _ = call.require_tenant()
    integrations.remove(ctx, "zeus", call.if_match)


_ACCESS = requires(Permission.INTEGRATIONS_MANAGE)

app = function_app(
    "/api/integrations/zeus",
    Operation("GET", read, access=_ACCESS, response=Integration, errors=(404,), summary="The Zeus connection"),
    Operation(
        "PUT",
        connect,
        access=_ACCESS,
        body=ZeusCredentialsIn,
        response=Integration,
        if_match="optional",
        errors=(404,),
        summary="Connect or replace the Zeus credentials",
    ),
    Operation(
        "DELETE",
        remove,
        access=_ACCESS,
        status=204,
        if_match="optional",
        errors=(404,),
        summary="Remove the Zeus credentials",
    ),
)
