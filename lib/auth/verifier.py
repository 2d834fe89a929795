"""The one place a password or a second factor is checked.

Signing in, changing the password, confirming or turning off two-step verification, using a
recovery code, and anything added later go through an `Attempt`:

1. `begin` reserves the attempt on the account's allowance and the client address's before
   anything is checked (lib/auth/throttle): the five attempts an hour that login allows are the
   same five for every check of that account, so a borrowed session cannot guess the password
   (or the second factor) any faster than a stranger at the login page. A spent allowance is
   429 with Retry-After, and nothing is checked;
2. `password` checks with bcrypt (against a dummy hash when there is no account: the same work);
   `second_factor` / `enrolment_code` check a TOTP code (never one already used) or a recovery
   code;
3. `succeeded` gives the reservation back; `refuse` records `auth.reauthentication_failed` (what
   was being done, which factor failed) in the audit trail, in a transaction of its own (the
   request's transaction rolls back with the refusal), and raises the refusal.

tests/lib/auth/test_verifier.py fails if any other module checks a password or a code itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from uuid import UUID

from lib import audit
from lib.audit import Target
from lib.auth import credentials, throttle, totp
from lib.auth.credentials import Credentials
from lib.auth.passwords import PasswordHasher
from lib.config import Settings
from lib.db import TenantTx, tenant_transaction
from lib.http.errors import ApiError
from lib.tenancy import TenantContext

_log = logging.getLogger("zentro.security.verifier")


def too_many_attempts(retry_after: int) -> ApiError:
    return ApiError("too_many_attempts", 429, headers={"Retry-After": str(retry_after)})


@dataclass(slots=True)
class Attempt:
    """One attempt at proving who one is, reserved on the account's and the address's allowance."""

    reservation: throttle.Reservation
    hasher: PasswordHasher
    pepper: str
    now: datetime

    def password(self, given: str, stored_hash: str | None) -> bool:
        """bcrypt against the stored hash, or against a dummy one when there is none (same cost)."""
        return self.hasher.verify(given, stored_hash)

    def second_factor(
        self, tx: TenantTx, user_id: UUID, creds: Credentials, *, totp_code: str | None, recovery_code: str | None
    ) -> bool:
        """A current TOTP code of an enrolled factor (never one already used) or an unused recovery code."""
        if creds.mfa_secret is None or not creds.mfa_enabled:
            return False
        if totp_code:
            secret = credentials.open_mfa_secret(tx, user_id, creds.mfa_secret)
            step = totp.matching_step(secret, totp_code, last_step=creds.mfa_last_step, now=self.now)
            return step is not None and credentials.advance_mfa_step(tx, user_id, step)
        if recovery_code:
            return credentials.use_recovery_code(tx, user_id, recovery_code, self.pepper, self.now)
        return False

    def enrolment_code(self, tx: TenantTx, user_id: UUID, creds: Credentials, code: str) -> int | None:
        """The time step of a valid first code for a factor being enrolled (not yet enabled)."""
        if creds.mfa_secret is None:
            return None
        secret = credentials.open_mfa_secret(tx, user_id, creds.mfa_secret)
        return totp.matching_step(secret, code, last_step=creds.mfa_last_step, now=self.now)

    def succeeded(self) -> None:
        self.reservation.release()

    def refuse(self, ctx: TenantContext, user_id: UUID, purpose: str, factor: str, error: ApiError) -> NoReturn:
        """Record a failed re-authentication of a signed-in user, then raise `error`."""
        _log.warning("reauthentication_failed", extra={"user_id": str(user_id), "purpose": purpose, "factor": factor})
        with tenant_transaction(ctx) as tx:
            audit.record(
                tx,
                "auth.reauthentication_failed",
                Target("user", user_id),
                after={"purpose": purpose, "factor": factor},
            )
        raise error


def begin(settings: Settings, email: str, client_ip: str | None, now: datetime) -> Attempt:
    """Reserve an attempt for the account `email` names (whether or not it exists); 429 when spent."""
    pepper = settings.password_pepper.reveal()
    try:
        reservation = throttle.reserve(throttle.login_keys(pepper, email, client_ip), now)
    except throttle.TooManyAttempts as spent:
        _log.warning("attempt_throttled", extra={"client_ip": client_ip, "rules": sorted(spent.rules)})
        raise too_many_attempts(spent.retry_after) from None
    return Attempt(reservation, PasswordHasher(pepper, settings.bcrypt_cost), pepper, now)
