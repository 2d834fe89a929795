"""/api/organization: the signed-in user's organization. PATCH sets its MFA requirement."""

from lib import organizations
from lib.auth.views import OrganizationView, organization_view
from lib.db import tenant_transaction
from lib.http import Call, Operation, Schema, function_app, requires
from lib.permissions import Permission


class SecuritySettings(Schema):
    mfa_required: bool


def read(call: Call[None, None]) -> OrganizationView:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        return organization_view(organizations.get(tx))


def update(call: Call[SecuritySettings, None]) -> OrganizationView:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        return organization_view(organizations.set_mfa_required(tx, call.body.mfa_required))


app = function_app(
    "/api/organization",
    Operation(
        "GET",
        read,
        access=requires(Permission.ORGANIZATION_READ),
        response=OrganizationView,
        summary="Your organization",
    ),
    Operation(
        "PATCH",
        update,
        access=requires(Permission.ORGANIZATION_SECURITY_MANAGE),
        body=SecuritySettings,
        response=OrganizationView,
        summary="Require two-step verification for ADMIN and SUPERVISOR",
    ),
)
