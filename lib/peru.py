"""Peruvian identifiers: phone numbers, DNI, RUC, foreign IDs, ubigeo codes.

- Phones are normalised to E.164 with libphonenumber (the `phonenumberslite` build: the
  parsing metadata without the geocoding data), Peru (+51) when no country code is given.
  Imported on first use: only functions that take customer data pay for it.
- DNI: 8 digits. RUC: 11 digits, a known prefix (10 persons, 15/16/17 special cases, 20
  companies) and SUNAT's modulo-11 check digit. Foreign IDs (carné de extranjería, passport):
  5 to 15 letters and digits.
- Ubigeo: INEI's 6-digit district code, department (01-25) + province + district, each
  part non-zero. The check is structural: no complete offline list of Peru's ~1,900 districts
  is available to check existence against (see the README).

A refusal is an `InvalidIdentifier` with a machine code; `REASONS` has its text in Spanish and
English.
"""

from __future__ import annotations

import re
from typing import Literal

DocumentType = Literal["DNI", "RUC", "FOREIGN"]

_DNI = re.compile(r"^[0-9]{8}$")
_RUC = re.compile(r"^(10|15|16|17|20)[0-9]{9}$")
_FOREIGN = re.compile(r"^[A-Z0-9]{5,15}$")
_UBIGEO = re.compile(r"^(0[1-9]|1[0-9]|2[0-5])(0[1-9]|[1-9][0-9])(0[1-9]|[1-9][0-9])$")
_RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

REASONS: dict[str, tuple[str, str]] = {
    "invalid_phone": ("No es un número de teléfono válido.", "Not a valid phone number."),
    "invalid_dni": ("Un DNI tiene 8 dígitos.", "A DNI has 8 digits."),
    "invalid_ruc": (
        "Un RUC tiene 11 dígitos y empieza por 10, 15, 16, 17 o 20.",
        "A RUC has 11 digits and starts with 10, 15, 16, 17 or 20.",
    ),
    "ruc_check_digit": ("El dígito verificador del RUC no coincide.", "The RUC check digit does not match."),
    "invalid_foreign_id": (
        "Un documento extranjero tiene de 5 a 15 letras y dígitos.",
        "A foreign ID has 5 to 15 letters and digits.",
    ),
    "invalid_ubigeo": (
        "El ubigeo tiene 6 dígitos: departamento (01-25), provincia y distrito.",
        "An ubigeo is 6 digits: department (01-25), province and district.",
    ),
}


class InvalidIdentifier(ValueError):
    """`field` names what is wrong, `code` why (a key of REASONS); `reason` is the English text."""

    def __init__(self, field: str, code: str) -> None:
        self.field = field
        self.code = code
        self.reason = REASONS[code][1]
        super().__init__(self.reason)


def normalise_phone(raw: str, default_region: str = "PE") -> str:
    """E.164 (`+51987654321`) for a valid number, else InvalidIdentifier."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("phone", "invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("phone", "invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def ruc_check_digit(first_ten: str) -> int:
    """SUNAT's modulo-11 check digit for the first ten digits of a RUC."""
    remainder = 11 - sum(int(digit) * weight for digit, weight in zip(first_ten, _RUC_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 1}.get(remainder, remainder)


def normalise_document(document_type: DocumentType, raw: str) -> str:
    """The document number, trimmed and upper-cased, or InvalidIdentifier."""
    number = re.sub(r"[\s.-]", "", raw).upper()
    if document_type == "DNI":
        if not _DNI.match(number):
            raise InvalidIdentifier("document_number", "invalid_dni")
    elif document_type == "RUC":
        if not _RUC.match(number):
            raise InvalidIdentifier("document_number", "invalid_ruc")
        if ruc_check_digit(number[:10]) != int(number[10]):
            raise InvalidIdentifier("document_number", "ruc_check_digit")
    elif not _FOREIGN.match(number):
        raise InvalidIdentifier("document_number", "invalid_foreign_id")
    return number


def check_ubigeo(code: str) -> str:
    if not _UBIGEO.match(code):
        raise InvalidIdentifier("ubigeo", "invalid_ubigeo")
    return code
