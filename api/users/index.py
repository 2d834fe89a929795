"""/api/users: the organization's staff. GET lists them; POST invites one by email."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from msgspec import Meta

from lib import users
from lib.auth.views import UserView, user_view
from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, Schema, function_app, requires
from lib.http.schemas import text
from lib.permissions import Permission
from lib.tenancy import Role
from lib.users import EMAIL_PATTERN


class UserList(Schema):
    users: list[UserView]


class Invitation(Schema):
    email: Annotated[str, Meta(max_length=254, pattern=EMAIL_PATTERN)]
    role: Role
    full_name: Annotated[str, text(min_length=1, max_length=200)]
    language: Literal["es", "en"] = "es"


def list_staff(call: Call[None, None]) -> UserList:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        return UserList(users=[user_view(user) for user in users.list_users(tx)])


def invite(call: Call[Invitation, None]) -> Reply:
    ctx, _ = call.require_tenant()
    body = call.body
    with tenant_transaction(ctx) as tx:
        user = users.invite(
            tx,
            email=body.email,
            role=body.role,
            full_name=body.full_name,
            language=body.language,
            app_base_url=call.settings.app_base_url,
            now=datetime.now(UTC),
        )
    return Reply(body=user_view(user), status=201)


app = function_app(
    "/api/users",
    Operation(
        "GET",
        list_staff,
        access=requires(Permission.USERS_READ),
        response=UserList,
        summary="List the organization's users",
    ),
    Operation(
        "POST",
        invite,
        access=requires(Permission.USERS_MANAGE),
        body=Invitation,
        response=UserView,
        status=201,
        errors=(409,),
        summary="Invite a user by email",
    ),
)
