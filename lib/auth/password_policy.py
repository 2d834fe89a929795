"""What a new password must be (ASVS V6.2): long enough, not common, not about its owner.

- 8 to 128 characters (counted as characters, not bytes); every character allowed, nothing
  truncated, no composition rules.
- Not one of the 30,000 most common passwords (the list zxcvbn ships, loaded only when a
  password is being set) nor a few common Spanish ones it lacks.
- Not built around the account's own email name or the organization's name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

MIN_LENGTH = 8
MAX_LENGTH = 128

# Frequent in Spanish-speaking countries and absent from zxcvbn's (English) list.
_SPANISH_COMMON = frozenset(
    {
        "contraseña",
        "contrasena",
        "contraseña1",
        "contrasena1",
        "contraseña123",
        "contrasena123",
        "teamo",
        "teamo123",
        "tequiero",
        "tequiero1",
        "teamomucho",
        "miamor",
        "mi amor",
        "amorcito",
        "peru123",
        "perú123",
        "lima1234",
        "limaperu",
        "perulima",
        "123456789a",
        "qwerty123",
        "clave123",
        "clave1234",
        "micontraseña",
        "holamundo",
        "hola1234",
        "bienvenido",
        "bienvenido1",
    }
)


class PasswordRejected(ValueError):
    """The password does not meet the policy; `code` names which rule, for the client message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@functools.cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | _SPANISH_COMMON


def check_new_password(password: str, *, personal_words: Iterable[str] = ()) -> None:
    """Raise PasswordRejected("password_too_short" | "password_too_long" | "password_too_common"
    | "password_too_personal") unless the password meets the policy."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("password_too_short")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("password_too_long")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.strip() in _common_passwords():
        raise PasswordRejected("password_too_common")
    for word in personal_words:
        word = word.lower().strip()
        if len(word) >= 4 and word in lowered and len(lowered) - len(word) < 6:
            raise PasswordRejected("password_too_personal")
