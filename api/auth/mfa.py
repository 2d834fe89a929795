"""/api/auth/mfa: one's own second factor.

POST begins enrolment (returns the seed and an otpauth:// URI for an authenticator app); PUT
confirms it with a first code (returns ten recovery codes, shown once); DELETE turns it off,
with the password and a current code.
"""

from datetime import UTC, datetime
from typing import Annotated

from lib.auth import mfa
from lib.db import tenant_transaction
from lib.http import Call, Operation, Reply, Schema, function_app, requires
from lib.http.schemas import text
from lib.permissions import Permission


class Enrolment(Schema):
    secret: str
    provisioning_uri: str


class Confirmation(Schema):
    code: Annotated[str, text(min_length=1, max_length=16)]


class RecoveryCodes(Schema):
    recovery_codes: list[str]


class Disable(Schema):
    password: Annotated[str, text(min_length=1, max_length=1024)]
    totp_code: Annotated[str, text(max_length=16)] | None = None
    recovery_code: Annotated[str, text(max_length=32)] | None = None


def begin(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        secret, uri = mfa.begin_enrolment(tx, datetime.now(UTC))
    return Reply(body=Enrolment(secret=secret, provisioning_uri=uri), status=201)


def confirm(call: Call[Confirmation, None]) -> RecoveryCodes:
    ctx, session = call.require_tenant()
    with tenant_transaction(ctx) as tx:
        codes = mfa.confirm_enrolment(tx, session.session_id, call.body.code, call.settings, datetime.now(UTC))
    return RecoveryCodes(recovery_codes=codes)


def disable(call: Call[Disable, None]) -> None:
    ctx, session = call.require_tenant()
    body = call.body
    with tenant_transaction(ctx) as tx:
        mfa.disable_own(
            tx,
            session.session_id,
            password=body.password,
            totp_code=body.totp_code,
            recovery_code=body.recovery_code,
            settings=call.settings,
            now=datetime.now(UTC),
        )


_OWN = requires(Permission.MFA_MANAGE_OWN)
app = function_app(
    "/api/auth/mfa",
    Operation(
        "POST",
        begin,
        access=_OWN,
        response=Enrolment,
        status=201,
        errors=(409,),
        summary="Begin enrolling an authenticator app",
    ),
    Operation(
        "PUT",
        confirm,
        access=_OWN,
        body=Confirmation,
        response=RecoveryCodes,
        errors=(403, 409, 429),
        summary="Confirm enrolment with a first code; returns recovery codes once",
    ),
    Operation(
        "DELETE",
        disable,
        access=_OWN,
        body=Disable,
        status=204,
        errors=(403, 409, 429),
        summary="Turn off two-step verification (password and code required)",
    ),
)
