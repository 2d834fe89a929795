"""What the API says about accounts and sessions: the wire shapes, never rows.

No hash, seed, token or session id ever appears in these shapes.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from lib.auth.sessions import Session
from lib.db import TenantTx
from lib.http.authentication import mfa_enrolment_pending
from lib.http.schemas import Schema, text
from lib.organizations import Organization
from lib.organizations import get as get_organization
from lib.permissions import granted
from lib.tenancy import Role
from lib.users import User
from lib.users import get as get_user

Language = Literal["es", "en"]

# The shape of one-time tokens (32 random bytes, base64url) and of a new password (the length
# rule of lib/auth/password_policy; whether it is common is checked after).
TOKEN_PATTERN = "^[A-Za-z0-9_-]{43}$"  # noqa: S105 - a pattern, not a token
NewPassword = Annotated[
    str, text(min_length=8, max_length=128, description="8 to 128 characters, not a commonly used password")
]


class UserView(Schema):
    id: UUID
    email: str
    full_name: str
    role: Role
    status: Literal["invited", "active", "deactivated"]
    language: Language
    mfa_enabled: bool


class OrganizationView(Schema):
    id: UUID
    name: str
    mfa_required: bool


class SessionView(Schema):
    user: UserView
    organization: OrganizationView
    permissions: list[str]
    mfa_enrollment_required: bool


def user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        status=user.status,  # type: ignore[arg-type]
        language=user.language,  # type: ignore[arg-type]
        mfa_enabled=user.mfa_enabled,
    )


def organization_view(organization: Organization) -> OrganizationView:
    return OrganizationView(id=organization.id, name=organization.name, mfa_required=organization.mfa_required)


def session_view(tx: TenantTx, session: Session) -> SessionView:
    return SessionView(
        user=user_view(get_user(tx, session.user_id)),
        organization=organization_view(get_organization(tx)),
        permissions=[permission.value for permission in granted(session.role)],
        mfa_enrollment_required=mfa_enrolment_pending(session),
    )
