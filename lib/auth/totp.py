"""TOTP second factor (RFC 6238: 30-second steps, 6 digits, SHA-1, as authenticator apps use).

A code is accepted for the current step and one step either side (clock drift), and only for a
step later than the last one accepted for that user: the same code cannot be used twice, nor an
older one after a newer one. The caller stores the step returned here in the same transaction
(`users.mfa_last_step`, updated only if still lower, so two concurrent uses cannot both win).
Seeds are 160 random bits, sealed with lib/crypto before they are stored. `pyotp` is imported
only when a code is checked or a seed made (it costs ~15 ms of cold start for every login).
"""

from __future__ import annotations

import hmac
from datetime import datetime

ISSUER = "Zentro"
DRIFT_STEPS = 1


def new_secret() -> str:
    import pyotp

    return pyotp.random_base32()  # 32 base32 characters = 160 bits


def provisioning_uri(secret: str, account: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def normalise(code: str) -> str:
    return code.replace(" ", "").replace("-", "")


def matching_step(secret: str, code: str, *, last_step: int, now: datetime) -> int | None:
    """The time step `code` is valid for, if it is one of now±1 and later than `last_step`."""
    code = normalise(code)
    if len(code) != 6 or not code.isdigit():
        return None
    import pyotp

    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
