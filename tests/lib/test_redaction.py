"""The scrubber masks contact data and credentials, and leaves identifiers we generate intact."""

from __future__ import annotations

import pytest

from lib.redaction import FILTERED, scrub, scrub_string


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("call +51 987 654 321 now", "987 654 321"),
        ("dni 45871236.", "45871236"),
        ("ruc 20123456789", "20123456789"),
        ("write to rosa.quispe@example.pe", "rosa.quispe@example.pe"),
        ("Authorization: Bearer tok-0a1b2c3d", "tok-0a1b2c3d"),
        ("password=hunter2&x=1", "hunter2"),
        ("session: abc123", "abc123"),
    ],
)
def test_contact_data_and_credentials_are_masked(text: str, hidden: str) -> None:
    scrubbed = scrub_string(text)
    assert hidden not in scrubbed
    assert scrubbed != text


@pytest.mark.parametrize(
    "identifier",
    [
        "449d9b39326577ba482dcf76",
        "7cc085dfae173381629119c2",
        "0d045f0536f0696e47217185",
        "ord-20261124",
        "12345678-1234-4abc-8def-123456789012",
    ],
)
def test_hex_ids_with_digit_runs_are_not_taken_for_phone_numbers(identifier: str) -> None:
    assert scrub_string(f"request {identifier} failed") == f"request {identifier} failed"


def test_identifier_fields_survive_even_when_all_digits() -> None:
    event = {
        "tags": {"request_id": "123456789012345678901234"},
        "contexts": {"trace": {"trace_id": "12345678901234567890123456789012", "span_id": "1234567890123456"}},
        "extra": {"note": "12345678901234567890123456789012"},
    }
    scrubbed = scrub(event)
    assert scrubbed["tags"] == event["tags"]
    assert scrubbed["contexts"] == event["contexts"]
    assert scrubbed["extra"]["note"] == "[number]"  # the same digits elsewhere are masked


def test_sensitive_keys_are_filtered_at_any_depth() -> None:
    scrubbed = scrub({"a": [{"password": "x", "phone": "+51987654321", "ok": "fine"}]})
    assert scrubbed == {"a": [{"password": FILTERED, "phone": FILTERED, "ok": "fine"}]}
