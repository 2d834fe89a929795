"""/api/users/{id}: one user of the organization. GET reads it; PATCH changes role or status."""

from datetime import UTC, datetime

import msgspec

from lib import users
from lib.auth.views import UserView, user_view
from lib.db import tenant_transaction
from lib.http import Call, Operation, Schema, function_app, requires
from lib.permissions import Permission
from lib.tenancy import Role


class UserChange(Schema):
    role: Role | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


def read(call: Call[None, None]) -> UserView:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        return user_view(users.get(tx, call.path_uuid()))


def change(call: Call[UserChange, None]) -> UserView:
    ctx, _ = call.require_tenant()
    user_id, body, now = call.path_uuid(), call.body, datetime.now(UTC)
    with tenant_transaction(ctx) as tx:
        if body.role is not msgspec.UNSET:
            users.change_role(tx, user_id, body.role, now)
        if body.active is not msgspec.UNSET:
            users.set_active(tx, user_id, body.active, now)
        return user_view(users.get(tx, user_id))


app = function_app(
    "/api/users/{id}",
    Operation("GET", read, access=requires(Permission.USERS_READ), response=UserView, summary="Read a user"),
    Operation(
        "PATCH",
        change,
        access=requires(Permission.USERS_MANAGE),
        body=UserChange,
        response=UserView,
        errors=(409,),
        summary="Change a user's role or deactivate / reactivate them",
    ),
)
