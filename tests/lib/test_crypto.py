"""lib.crypto: the sealed format is pinned, every tampering fails the same way, rotation works.

No database: these tests use only pytest's own fixtures. Each negative case sits next to the
positive case under the same setup, so a typo cannot make it pass vacuously.
"""

from __future__ import annotations

import base64
import os
import re
import struct
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lib.crypto import KeyRing, SealContext, SealError

ROOT = Path(__file__).resolve().parents[2]

ORG_A = UUID("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0")
ORG_B = UUID("00000000-0000-4000-8000-000000000003")
CONTEXT = SealContext(ORG_A, "totp_secrets", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "seed")

KEY_1 = bytes(range(32))
KEY_2 = bytes(255 - i for i in range(32))
KEY_3 = bytes.fromhex("5a" * 32)


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


def ring(*entries: tuple[int, bytes]) -> KeyRing:
    return KeyRing.parse(",".join(f"{key_id}:{b64(key)}" for key_id, key in entries))


def open_fails(keyring: KeyRing, sealed: bytes, context: SealContext = CONTEXT) -> SealError:
    with pytest.raises(SealError) as caught:
        keyring.open(sealed, context)
    return caught.value


# --- Known answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    key_id: int
    key: bytes
    nonce: bytes
    context: SealContext
    plaintext: bytes
    sealed_hex: str


# Computed once with lib.crypto and pinned: a change here is a format change (a new version byte).
VECTORS = [
    Vector(
        key_id=1,
        key=KEY_1,
        nonce=bytes.fromhex("000102030405060708090a0b"),
        context=CONTEXT,
        plaintext=b"JBSWY3DPEHPK3PXP",
        sealed_hex="0100000001000102030405060708090a0b0d40854c9cd6864bc809c7c082b9203dd469e50c62e3ea3c6e45ca8d68c6a5d7",
    ),
    Vector(
        key_id=2**32 - 1,
        key=KEY_2,
        nonce=bytes.fromhex("ffeeddccbbaa998877665544"),
        context=SealContext(None, "email_outbox", "42", "payload"),
        plaintext=b"",
        sealed_hex="01ffffffffffeeddccbbaa9988776655444b9ca78651fe44b8e10fbbd57e2e8bae",
    ),
    Vector(
        key_id=3,
        key=KEY_3,
        nonce=bytes.fromhex("0123456789abcdef01234567"),
        context=SealContext(ORG_B, "integrations", "ñ-1", "crédito"),
        plaintext=b"\x00token\xff" + "á".encode(),
        sealed_hex="01000000030123456789abcdef01234567e4a00d25e1088d0d2f21ff7c09fe0e8eca17d4a2454e661d30",
    ),
]


def spec_aad(version: int, key_id: int, context: SealContext) -> bytes:
    """The associated data written out from the module docstring, independently of lib.crypto."""

    def lp(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    org = b"" if context.org_id is None else context.org_id.bytes
    return (
        lp(b"zentro-seal-v1")
        + struct.pack(">BI", version, key_id)
        + lp(org)
        + lp(context.table.encode("utf-8"))
        + lp(context.record_id.encode("utf-8"))
        + lp(context.field.encode("utf-8"))
    )


@pytest.mark.parametrize("vector", VECTORS, ids=["org-totp", "no-org-empty-max-id", "utf8-context"])
def test_known_answer(vector: Vector) -> None:
    keyring = KeyRing([(vector.key_id, vector.key)])
    sealed = keyring._seal_with_nonce(vector.plaintext, vector.context, vector.nonce)
    assert sealed.hex() == vector.sealed_hex
    assert keyring.open(bytes.fromhex(vector.sealed_hex), vector.context) == vector.plaintext


@pytest.mark.parametrize("vector", VECTORS, ids=["org-totp", "no-org-empty-max-id", "utf8-context"])
def test_known_answer_follows_the_documented_format(vector: Vector) -> None:
    """Decrypt each pinned vector with AESGCM directly, splitting it as the docstring says."""
    sealed = bytes.fromhex(vector.sealed_hex)
    version, key_id = struct.unpack(">BI", sealed[:5])
    nonce, ciphertext = sealed[5:17], sealed[17:]
    assert (version, key_id, nonce) == (1, vector.key_id, vector.nonce)
    assert len(ciphertext) == len(vector.plaintext) + 16
    aad = spec_aad(version, key_id, vector.context)
    assert AESGCM(vector.key).decrypt(nonce, ciphertext, aad) == vector.plaintext


def test_first_vector_byte_by_byte() -> None:
    """The first vector built from literal bytes, with nothing computed from the code under test."""
    aad = (
        bytes.fromhex("0000000e") + b"zentro-seal-v1"
        + bytes.fromhex("0100000001")  # version, key id
        + bytes.fromhex("00000010") + bytes.fromhex("0f1e2d3c4b5a49788796a5b4c3d2e1f0")
        + bytes.fromhex("0000000c") + b"totp_secrets"
        + bytes.fromhex("00000024") + b"7c9e6679-7425-40de-944b-e07fc1f90ae7"
        + bytes.fromhex("00000004") + b"seed"
    )  # fmt: skip
    nonce = bytes.fromhex("000102030405060708090a0b")
    expected = bytes.fromhex("0100000001") + nonce + AESGCM(KEY_1).encrypt(nonce, b"JBSWY3DPEHPK3PXP", aad)
    assert expected.hex() == VECTORS[0].sealed_hex


# --- Round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"s", b"\x00" * 33, os.urandom(200), os.urandom(1 << 20)])
def test_round_trip(plaintext: bytes) -> None:
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(plaintext, CONTEXT)
    assert len(sealed) == 1 + 4 + 12 + len(plaintext) + 16
    assert sealed[:5] == b"\x01\x00\x00\x00\x01"
    assert keyring.open(sealed, CONTEXT) == plaintext


def test_same_plaintext_twice_gives_different_values_and_nonces() -> None:
    keyring = ring((1, KEY_1))
    first, second = keyring.seal(b"same", CONTEXT), keyring.seal(b"same", CONTEXT)
    assert first != second
    assert first[5:17] != second[5:17]
    assert keyring.open(first, CONTEXT) == keyring.open(second, CONTEXT) == b"same"


def test_text_round_trip() -> None:
    keyring = ring((1, KEY_1))
    sealed = keyring.seal_text("https://zentro.pe/r/ñandú?t=1", CONTEXT)
    assert keyring.open_text(sealed, CONTEXT) == "https://zentro.pe/r/ñandú?t=1"
    assert keyring.open(sealed, CONTEXT) == "https://zentro.pe/r/ñandú?t=1".encode()


def test_plaintext_must_be_bytes() -> None:
    keyring = ring((1, KEY_1))
    with pytest.raises(TypeError):
        keyring.seal("text", CONTEXT)  # type: ignore[arg-type]


def test_sealed_value_must_be_bytes() -> None:
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(b"s", CONTEXT)
    assert keyring.open(sealed, CONTEXT) == b"s"
    for wrong_type in (bytearray(sealed), memoryview(sealed), sealed.hex()):
        with pytest.raises(TypeError):
            keyring.open(wrong_type, CONTEXT)  # type: ignore[arg-type]


# --- Every failure is the same SealError -------------------------------------------------------


def test_every_single_bit_flip_fails() -> None:
    # Key ids 3 and 5 are one bit away from 1: some header flips name another key in the ring.
    keyring = ring((1, KEY_1), (3, KEY_3), (5, KEY_2))
    sealed = keyring.seal(b"JBSWY3DPEHPK3PXP", CONTEXT)
    assert keyring.open(sealed, CONTEXT) == b"JBSWY3DPEHPK3PXP"
    messages = set()
    for position in range(len(sealed)):
        for bit in range(8):
            tampered = bytearray(sealed)
            tampered[position] ^= 1 << bit
            messages.add(str(open_fails(keyring, bytes(tampered))))
    assert messages == {SealError.MESSAGE}


def test_every_truncation_and_an_extension_fail() -> None:
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(b"JBSWY3DPEHPK3PXP", CONTEXT)
    assert keyring.open(sealed, CONTEXT) == b"JBSWY3DPEHPK3PXP"
    messages = {str(open_fails(keyring, sealed[:length])) for length in range(len(sealed))}
    messages.add(str(open_fails(keyring, sealed + b"\x00")))
    assert messages == {SealError.MESSAGE}


def test_failures_are_indistinguishable() -> None:
    """Unknown version, unknown key id, wrong key, wrong context, bad UTF-8: one type, one message."""
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(b"secret", CONTEXT)
    assert keyring.open(sealed, CONTEXT) == b"secret"

    version_2 = b"\x02" + sealed[1:]
    version_0 = b"\x00" + sealed[1:]
    unknown_id = ring((2, KEY_1)).seal(b"secret", CONTEXT)  # same key bytes, an id this ring lacks
    wrong_key = ring((1, KEY_2)).seal(b"secret", CONTEXT)  # same id, different key
    other_context = keyring.seal(b"secret", SealContext(ORG_A, "totp_secrets", "other", "seed"))
    not_utf8 = keyring.seal(b"\xff\xfe", CONTEXT)

    errors = [open_fails(keyring, value) for value in (version_2, version_0, unknown_id, wrong_key, other_context)]
    with pytest.raises(SealError) as caught:
        keyring.open_text(not_utf8, CONTEXT)
    errors.append(caught.value)
    errors.append(open_fails(ring((1, KEY_2)), sealed))  # the whole ring is the wrong one

    assert {type(error) for error in errors} == {SealError}
    assert {str(error) for error in errors} == {"sealed value cannot be opened"}
    for error in errors:
        assert error.__cause__ is None
        rendered = "".join(traceback.format_exception(error))
        assert "InvalidTag" not in rendered and "UnicodeDecodeError" not in rendered


# --- Associated data: a value only opens where it was sealed -----------------------------------


@pytest.mark.parametrize(
    "moved",
    [
        SealContext(ORG_A, "totp_secrets", "7c9e6679-7425-40de-944b-e07fc1f90ae8", "seed"),
        SealContext(ORG_A, "totp_secrets", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "recovery"),
        SealContext(ORG_A, "integration_tokens", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "seed"),
        SealContext(ORG_B, "totp_secrets", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "seed"),
        SealContext(None, "totp_secrets", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "seed"),
        SealContext(ORG_A, "totp_secrets", "7C9E6679-7425-40DE-944B-E07FC1F90AE7", "seed"),
    ],
    ids=["other-record", "other-field", "other-table", "other-org", "org-none", "record-id-spelling"],
)
def test_moved_value_does_not_open(moved: SealContext) -> None:
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(b"secret", CONTEXT)
    assert keyring.open(sealed, CONTEXT) == b"secret"
    assert moved != CONTEXT
    open_fails(keyring, sealed, moved)


def test_value_sealed_without_org_does_not_open_under_an_org() -> None:
    keyring = ring((1, KEY_1))
    no_org = SealContext(None, "email_outbox", "42", "payload")
    sealed = keyring.seal(b"link", no_org)
    assert keyring.open(sealed, no_org) == b"link"
    open_fails(keyring, sealed, SealContext(ORG_A, "email_outbox", "42", "payload"))


@pytest.mark.parametrize(
    ("sealed_in", "opened_in"),
    [
        (SealContext(None, "ab", "c", "d"), SealContext(None, "a", "bc", "d")),
        (SealContext(None, "t", "12", "3"), SealContext(None, "t", "1", "23")),
        (SealContext(None, "t", "r", "f\x00"), SealContext(None, "t", "r\x00", "f")),
    ],
)
def test_context_encoding_is_unambiguous(sealed_in: SealContext, opened_in: SealContext) -> None:
    """Contexts whose fields concatenate to the same text are still different contexts."""
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(b"secret", sealed_in)
    assert keyring.open(sealed, sealed_in) == b"secret"
    open_fails(keyring, sealed, opened_in)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((ORG_A, "", "1", "seed"), ValueError),
        ((ORG_A, "t", "", "seed"), ValueError),
        ((ORG_A, "t", "1", ""), ValueError),
        ((str(ORG_A), "t", "1", "seed"), TypeError),
        ((ORG_A, "t", 1, "seed"), TypeError),
        ((ORG_A, "t", "\ud800", "seed"), UnicodeEncodeError),
    ],
)
def test_context_rejects_bad_fields(args: tuple[object, ...], error: type[Exception]) -> None:
    assert SealContext(ORG_A, "t", "1", "seed").table == "t"
    with pytest.raises(error):
        SealContext(*args)  # type: ignore[arg-type]


# --- Rotation ----------------------------------------------------------------------------------


def test_rotation() -> None:
    ring_a = ring((1, KEY_1))
    ring_b = ring((2, KEY_2), (1, KEY_1))
    only_2, only_1 = ring((2, KEY_2)), ring((1, KEY_1))
    assert (ring_b.primary_key_id, ring_b.key_ids) == (2, (2, 1))

    old = ring_a.seal(b"seed", CONTEXT)
    assert ring_b.open(old, CONTEXT) == b"seed"
    assert ring_b.needs_reseal(old) is True
    assert ring_a.needs_reseal(old) is False

    new = ring_b.reseal(old, CONTEXT)
    assert new[:5] == b"\x01\x00\x00\x00\x02"
    assert new[5:17] != old[5:17]
    assert ring_b.open(new, CONTEXT) == b"seed"
    assert only_2.open(new, CONTEXT) == b"seed"
    assert only_1.open(old, CONTEXT) == b"seed"
    open_fails(only_1, new)
    open_fails(only_2, old)

    assert ring_b.needs_reseal(new) is False
    assert ring_b.needs_reseal(ring_b.seal(b"fresh", CONTEXT)) is False


def test_reseal_authenticates_before_sealing_again() -> None:
    ring_b = ring((2, KEY_2), (1, KEY_1))
    old = ring((1, KEY_1)).seal(b"seed", CONTEXT)
    assert ring_b.reseal(old, CONTEXT)[:5] == b"\x01\x00\x00\x00\x02"
    with pytest.raises(SealError):
        ring_b.reseal(old, SealContext(ORG_B, CONTEXT.table, CONTEXT.record_id, CONTEXT.field))
    with pytest.raises(SealError):
        ring_b.reseal(old[:-1] + bytes([old[-1] ^ 1]), CONTEXT)


def test_needs_reseal_raises_on_malformed_values() -> None:
    """Documented choice: a value that is not structurally sealed raises instead of answering."""
    keyring = ring((1, KEY_1))
    sealed = keyring.seal(b"", CONTEXT)
    assert keyring.needs_reseal(sealed) is False
    for malformed in (b"", sealed[:-1], b"\x02" + sealed[1:]):
        with pytest.raises(SealError):
            keyring.needs_reseal(malformed)


# --- Key ring parsing --------------------------------------------------------------------------


def test_parse_accepts_the_documented_forms() -> None:
    padded = f"3:{b64(KEY_3)}=, 2:{b64(KEY_2)}\n"
    keyring = KeyRing.parse(padded)
    assert (keyring.primary_key_id, keyring.key_ids) == (3, (3, 2))
    assert keyring.open(ring((2, KEY_2)).seal(b"x", CONTEXT), CONTEXT) == b"x"
    assert KeyRing.parse(f"{2**32 - 1}:{b64(KEY_1)}").primary_key_id == 2**32 - 1


def test_generate_value() -> None:
    value = KeyRing.generate_value()
    assert value.startswith("1:") and len(value) == 2 + 43
    assert KeyRing.parse(value).key_ids == (1,)
    assert KeyRing.generate_value(7).startswith("7:")
    assert KeyRing.generate_value() != value
    for bad_id in (0, -1, 2**32):
        with pytest.raises(ValueError, match="key id"):
            KeyRing.generate_value(bad_id)


SECRET_KEY = bytes.fromhex("c0ffee" * 10 + "beef")  # 32 bytes that must never be echoed


def secret_text(key: bytes = SECRET_KEY) -> str:
    return b64(key)


# Each rejection must fail for its own reason: the message fragment says which.
EMPTY = "empty"
SHAPE = "expected '<key id>:"
KEY_ID = "key id must"
SIZE = "32 bytes"
TWICE = "listed twice"
ALPHABET = "not base64url"


@pytest.mark.parametrize(
    ("value", "leaked", "reason"),
    [
        ("", "", EMPTY),
        ("   ", "", EMPTY),
        (secret_text(), secret_text(), SHAPE),  # a bare key, no id
        (f"{secret_text()}:1", secret_text(), KEY_ID),  # id and key swapped
        (f"1{secret_text()}", secret_text(), SHAPE),  # colon forgotten
        (f"1:{secret_text()},", secret_text(), SHAPE),  # trailing empty entry
        (f"1:{secret_text(SECRET_KEY[:16])}", secret_text(SECRET_KEY[:16]), SIZE),
        (f"1:{secret_text(SECRET_KEY[:31])}", secret_text(SECRET_KEY[:31]), SIZE),
        (f"1:{secret_text(SECRET_KEY + b'!')}", secret_text(SECRET_KEY + b"!"), SIZE),
        (f"1:{secret_text()},1:{b64(KEY_2)}", secret_text(), TWICE),
        (f"0:{secret_text()}", secret_text(), KEY_ID),
        (f"-1:{secret_text()}", secret_text(), KEY_ID),
        (f"+1:{secret_text()}", secret_text(), KEY_ID),
        (f"01:{secret_text()}", secret_text(), KEY_ID),
        (f"{2**32}:{secret_text()}", secret_text(), KEY_ID),
        (f"{'9' * 5000}:{secret_text()}", secret_text(), KEY_ID),
        (f"1 :{secret_text()}", secret_text(), KEY_ID),
        (f"١:{secret_text()}", secret_text(), KEY_ID),  # a non-ASCII digit
        (f"1:{secret_text()[:-1]}*", secret_text()[:-1], ALPHABET),
        ("1:" + base64.b64encode(b"\xfb" * 32).decode(), base64.b64encode(b"\xfb" * 32).decode(), ALPHABET),  # + and /
        (f"1:{secret_text()}==", secret_text(), ALPHABET),  # wrong padding for 32 bytes
        (f"1:{secret_text()[:-2]}", secret_text()[:-2], ALPHABET),  # length leaves a dangling character
        (f"1:{secret_text()[:-1]}B", secret_text()[:-1], "not canonical"),  # stray low bits
    ],
)
def test_parse_rejects_without_echoing_key_material(value: str, leaked: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as caught:
        KeyRing.parse(value)
    error = caught.value
    rendered = "".join(traceback.format_exception(error))
    assert error.__cause__ is None
    for window in {leaked[i : i + 8] for i in range(max(len(leaked) - 7, 0))}:
        assert window not in rendered
    assert SECRET_KEY.hex() not in rendered


def test_the_rejection_cases_differ_from_a_valid_ring_only_in_the_defect() -> None:
    """The positive twin of the rejection table: the same key text parses when well formed."""
    assert KeyRing.parse(f"1:{secret_text()}").key_ids == (1,)
    assert KeyRing.parse(f"1:{secret_text()}=").key_ids == (1,)
    assert KeyRing.parse(f"1:{secret_text()},2:{b64(KEY_2)}").key_ids == (1, 2)


@pytest.mark.parametrize("size", [16, 24, 31, 33])
def test_constructor_enforces_256_bit_keys(size: int) -> None:
    assert KeyRing([(1, bytes(32))]).key_ids == (1,)
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing([(1, bytes(size))])


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ([], "empty"),
        ([(1, KEY_1), (1, KEY_2)], "listed twice"),
        ([(0, KEY_1)], "key id must"),
        ([(2**32, KEY_1)], "key id must"),
        ([(True, KEY_1)], "key id must"),
    ],
)
def test_constructor_rejects_empty_duplicate_and_out_of_range_ids(keys: list[tuple[int, bytes]], reason: str) -> None:
    assert KeyRing([(1, KEY_1), (2, KEY_2)]).key_ids == (1, 2)
    with pytest.raises(ValueError, match=reason):
        KeyRing(keys)


def test_repr_shows_ids_only() -> None:
    keyring = KeyRing.parse(f"3:{secret_text()},2:{b64(KEY_2)}")
    for text in (repr(keyring), str(keyring), f"{keyring}"):
        assert text == "KeyRing(primary_key_id=3, key_ids=(3, 2))"
        assert secret_text() not in text and SECRET_KEY.hex() not in text
    assert not hasattr(keyring, "__dict__")


# --- The known-answer hook ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 8, 11, 13, 16])
def test_known_answer_hook_enforces_96_bit_nonces(size: int) -> None:
    keyring = ring((1, KEY_1))
    assert keyring._seal_with_nonce(b"x", CONTEXT, bytes(12))[5:17] == bytes(12)
    with pytest.raises(ValueError, match="12 bytes"):
        keyring._seal_with_nonce(b"x", CONTEXT, bytes(size))


def test_import_stays_light() -> None:
    """Serverless cold starts pay for imports: importing the module (and validating a key ring
    value, as configuration does at start) loads no cryptography at all; building a ring loads
    only the AEAD primitive, no X.509, no Fernet."""
    ring = KeyRing.generate_value(1)
    modules = "print(sorted(m for m in sys.modules if m.startswith('cryptography')))"
    validate = f"import sys, lib.crypto; lib.crypto.parse_key_ring_value({ring!r}); {modules}"
    result = subprocess.run([sys.executable, "-c", validate], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    build = f"import sys, lib.crypto; lib.crypto.KeyRing.parse({ring!r}); {modules}"
    result = subprocess.run([sys.executable, "-c", build], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = result.stdout
    assert "cryptography.hazmat.primitives.ciphers.aead" in loaded
    for heavy in ("cryptography.x509", "cryptography.fernet", "cryptography.hazmat.primitives.serialization"):
        assert f"'{heavy}'" not in loaded
