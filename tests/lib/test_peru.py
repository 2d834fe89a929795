"""Peruvian identifiers: phones to E.164, DNI, RUC with SUNAT's check digit, foreign IDs, ubigeo."""

from __future__ import annotations

import pytest

from lib.peru import REASONS, InvalidIdentifier, check_ubigeo, normalise_document, normalise_phone, ruc_check_digit


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("987654321", "+51987654321"),
        ("987 654 321", "+51987654321"),
        ("+51 987-654-321", "+51987654321"),
        ("(01) 411-1111", "+5114111111"),
        ("+1 202 555 0142", "+12025550142"),
    ],
)
def test_phones_become_e164_with_peru_by_default(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "123456", "98765432", "9876543210", "teléfono", "+51 000 000 000"])
def test_numbers_that_cannot_be_dialled_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        normalise_phone(raw)
    assert refused.value.code == "invalid_phone"


def test_ruc_check_digit_follows_sunat() -> None:
    # Real RUCs: SUNAT itself (20131312955) and a well-known company (20100070970).
    assert ruc_check_digit("2013131295") == 5
    assert ruc_check_digit("2010007097") == 0
    assert normalise_document("RUC", "20131312955") == "20131312955"
    with pytest.raises(InvalidIdentifier) as wrong:
        normalise_document("RUC", "20131312954")
    assert wrong.value.code == "ruc_check_digit"


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        ("DNI", "1234567", "invalid_dni"),
        ("DNI", "123456789", "invalid_dni"),
        ("RUC", "30131312955", "invalid_ruc"),
        ("RUC", "2013131295", "invalid_ruc"),
        ("FOREIGN", "AB1", "invalid_foreign_id"),
        ("FOREIGN", "A" * 16, "invalid_foreign_id"),
    ],
)
def test_documents_of_the_wrong_shape_are_refused(kind: str, raw: str, code: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        normalise_document(kind, raw)  # type: ignore[arg-type]
    assert refused.value.code == code and refused.value.reason == REASONS[code][1]


def test_documents_are_trimmed_and_upper_cased() -> None:
    assert normalise_document("DNI", " 4567-8912 ") == "45678912"
    assert normalise_document("FOREIGN", "ce 0012.3456") == "CE00123456"


@pytest.mark.parametrize("code", ["150122", "010101", "250101", "080801"])
def test_well_formed_ubigeos_pass(code: str) -> None:
    assert check_ubigeo(code) == code


@pytest.mark.parametrize("code", ["000000", "260101", "150022", "150100", "15012", "ABCDEF"])
def test_ubigeos_outside_inei_structure_are_refused(code: str) -> None:
    with pytest.raises(InvalidIdentifier):
        check_ubigeo(code)
