"""Application-layer encryption ("sealing") of secrets before they are stored.

TOTP seeds, sealed email-outbox payloads and integration credentials are sealed with AES-256-GCM
under a key ring read from the environment, so a database dump or backup alone reveals nothing.
The security page promises exactly this; this module is the whole implementation.

Sealed format, version 1 (stored as `bytea`; all integers unsigned big-endian)::

    offset  size   field
    0       1      version, 0x01
    1       4      key id, 1..2**32-1: the key ring entry that sealed the value
    5       12     nonce, 96 random bits from os.urandom, fresh for every seal
    17      n+16   AES-256-GCM ciphertext of the n plaintext bytes, then the 16-byte tag

A sealed value is at least 33 bytes. The header is readable without a key, so the key a value
needs is known before any decryption (a rotation job can even select by it in SQL:
`substring(col from 2 for 4) <> '\\x00000003'::bytea`).

Associated data binds each value to where it is stored and authenticates the header::

    lp(x) = len(x) as 4 bytes || x
    aad   = lp(b"zentro-seal-v1") || version (1 byte) || key id (4 bytes)
            || lp(org)            org = the 16 bytes of the UUID, or empty when org_id is None
            || lp(table) || lp(record_id) || lp(field)          each UTF-8 encoded

Every part is length-prefixed, so no two different contexts encode to the same bytes: a value
copied to another row, field, table or organization does not open.

Opening parses the header, authenticates the whole value against the key it names, and only then
returns plaintext. Every failure (truncated, unknown version, unknown key id, wrong key, any
flipped bit, wrong context) raises the same `SealError` with the same message, as pyca's Fernet
does: a caller, a log line or an attacker learns only that the value does not open.

Random 96-bit nonces are safe for up to 2**32 seals per key (NIST SP 800-38D); rotate long before.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
MAX_KEY_ID = 2**32 - 1

_DOMAIN = b"zentro-seal-v1"
_HEADER = struct.Struct(">BI")  # version, key id
_PREFIX_SIZE = _HEADER.size + NONCE_SIZE
_MIN_SEALED_SIZE = _PREFIX_SIZE + TAG_SIZE
_LENGTH = struct.Struct(">I")

_KEY_ID_TEXT = re.compile(r"[1-9][0-9]*")  # ASCII digits, no sign, no leading zero
_BASE64URL_TEXT = re.compile(r"[A-Za-z0-9_-]+")


class SealError(Exception):
    """A sealed value cannot be opened. Deliberately says nothing about why."""

    MESSAGE = "sealed value cannot be opened"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


@dataclass(frozen=True, slots=True)
class SealContext:
    """Where a sealed value lives; it becomes the associated data, so it must match to open.

    `record_id` is text: pass `str(uuid)` for UUID keys, the same way everywhere, because a
    different spelling of the same id is a different context.
    """

    org_id: UUID | None
    table: str
    record_id: str
    field: str

    def __post_init__(self) -> None:
        if self.org_id is not None and not isinstance(self.org_id, UUID):
            raise TypeError("SealContext.org_id must be a UUID or None")
        for name in ("table", "record_id", "field"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"SealContext.{name} must be a str")
            if not value:
                raise ValueError(f"SealContext.{name} must not be empty")
            value.encode()  # lone surrogates fail here, at construction, not at seal time


def _associated_data(header: bytes, context: SealContext) -> bytes:
    """The AAD for a value with this `header` (version and key id), as the module docstring specifies."""
    org = b"" if context.org_id is None else context.org_id.bytes
    parts = (org, context.table.encode(), context.record_id.encode(), context.field.encode())
    return _lp(_DOMAIN) + header + b"".join(_lp(part) for part in parts)


def _lp(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


def _check_key_id(key_id: int) -> None:
    if isinstance(key_id, bool) or not isinstance(key_id, int) or not 1 <= key_id <= MAX_KEY_ID:
        raise ValueError(f"key id must be an integer from 1 to {MAX_KEY_ID}")


def _encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def _parse_entry(position: int, entry: str) -> tuple[int, bytes]:
    """One `<id>:<base64url key>` entry. Messages name the position and id, never the text."""
    where = f"key ring entry {position}"
    id_text, colon, key_text = entry.strip().partition(":")
    if not colon:
        raise ValueError(f"{where}: expected '<key id>:<base64url key>'")
    if len(id_text) > len(str(MAX_KEY_ID)) or not _KEY_ID_TEXT.fullmatch(id_text) or int(id_text) > MAX_KEY_ID:
        raise ValueError(f"{where}: key id must be a decimal integer from 1 to {MAX_KEY_ID}")
    key_id = int(id_text)
    where = f"{where} (key id {key_id})"
    body = key_text.removesuffix("=")
    if not _BASE64URL_TEXT.fullmatch(body):
        raise ValueError(f"{where}: key is not base64url")
    try:
        key = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        raise ValueError(f"{where}: key is not base64url") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"{where}: key must be {KEY_SIZE} bytes")
    if _encode_key(key) != body:  # stray low bits in the last character: not what we generate
        raise ValueError(f"{where}: key is not canonical base64url")
    return key_id, key


def parse_key_ring_value(value: str) -> list[tuple[int, bytes]]:
    """The (id, key) entries of a key ring value, checked, without building the ring.

    Cheap (no cryptography import): configuration validates ENCRYPTION_KEYS with it at cold start.
    Raises ValueError naming the entry position and key id, never any key text.
    """
    if not value.strip():
        raise ValueError("key ring is empty")
    entries = [_parse_entry(position, entry) for position, entry in enumerate(value.split(","), start=1)]
    ids = [key_id for key_id, _ in entries]
    duplicated = sorted({key_id for key_id in ids if ids.count(key_id) > 1})
    if duplicated:
        raise ValueError(f"key id {duplicated[0]} is listed twice")
    return entries


class KeyRing:
    """The keys that seal and open values. The first key is the primary: it seals.

    Any key in the ring opens the values it sealed, so rotation is: put a new key first, keep the
    old one listed, reseal what `needs_reseal` reports, then drop the old key.
    """

    __slots__ = ("_aeads", "_primary_id")

    def __init__(self, keys: Iterable[tuple[int, bytes]]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # ~20 ms: only when a ring is built

        aeads: dict[int, AESGCM] = {}
        for key_id, key in keys:
            _check_key_id(key_id)
            if key_id in aeads:
                raise ValueError(f"key id {key_id} is listed twice")
            if not isinstance(key, bytes) or len(key) != KEY_SIZE:
                raise ValueError(f"key id {key_id}: key must be {KEY_SIZE} bytes")
            aeads[key_id] = AESGCM(key)
        if not aeads:
            raise ValueError("key ring is empty")
        self._aeads = aeads
        self._primary_id = next(iter(aeads))

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """A ring from `"3:<base64url 32 bytes>,2:<base64url 32 bytes>"`; the first id seals.

        Raises ValueError naming the entry position and key id, never any key text.
        """
        return cls(parse_key_ring_value(value))

    @staticmethod
    def generate_value(key_id: int = 1) -> str:
        """A fresh one-key ring value for local tooling; put it first in the environment value."""
        _check_key_id(key_id)
        return f"{key_id}:{_encode_key(os.urandom(KEY_SIZE))}"

    @property
    def primary_key_id(self) -> int:
        return self._primary_id

    @property
    def key_ids(self) -> tuple[int, ...]:
        """All key ids, primary first."""
        return tuple(self._aeads)

    def __repr__(self) -> str:
        return f"KeyRing(primary_key_id={self._primary_id}, key_ids={self.key_ids})"

    __str__ = __repr__

    def seal(self, plaintext: bytes, context: SealContext) -> bytes:
        """Encrypt `plaintext` under the primary key, bound to `context`, with a fresh nonce."""
        return self._seal_with_nonce(plaintext, context, os.urandom(NONCE_SIZE))

    def _seal_with_nonce(self, plaintext: bytes, context: SealContext, nonce: bytes) -> bytes:
        """Known-answer tests only: production never chooses a nonce (`seal` draws it)."""
        if not isinstance(plaintext, bytes):
            raise TypeError("plaintext must be bytes; use seal_text for str")
        if len(nonce) != NONCE_SIZE:  # AESGCM itself would accept other lengths
            raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
        header = _HEADER.pack(VERSION, self._primary_id)
        ciphertext = self._aeads[self._primary_id].encrypt(nonce, plaintext, _associated_data(header, context))
        return header + nonce + ciphertext

    def open(self, sealed: bytes, context: SealContext) -> bytes:
        """The plaintext of `sealed`, or SealError if it does not open here under `context`.

        Passing something other than `bytes` is a programming error (TypeError), not a value
        that fails to open: psycopg returns `bytea` columns as `bytes`.
        """
        from cryptography.exceptions import InvalidTag

        key_id = _parse_header(sealed)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise SealError
        header, nonce, ciphertext = sealed[: _HEADER.size], sealed[_HEADER.size : _PREFIX_SIZE], sealed[_PREFIX_SIZE:]
        try:
            return aead.decrypt(nonce, ciphertext, _associated_data(header, context))
        except InvalidTag:
            raise SealError from None

    def seal_text(self, text: str, context: SealContext) -> bytes:
        """`seal` for text, as UTF-8."""
        return self.seal(text.encode(), context)

    def open_text(self, sealed: bytes, context: SealContext) -> str:
        """`open` for text; a value that is not UTF-8 is a SealError like any other failure."""
        plaintext = self.open(sealed, context)
        try:
            return plaintext.decode()
        except UnicodeDecodeError:
            raise SealError from None

    def needs_reseal(self, sealed: bytes) -> bool:
        """True when `sealed` names a key other than the primary.

        Reads the header only, without authenticating (`reseal` does that). A value too short
        to be sealed, or of an unknown version, raises SealError rather than answering.
        """
        return _parse_header(sealed) != self._primary_id

    def reseal(self, sealed: bytes, context: SealContext) -> bytes:
        """Open with the key `sealed` names and seal again with the primary, under a fresh nonce."""
        return self.seal(self.open(sealed, context), context)


def _parse_header(sealed: bytes) -> int:
    """The key id of a structurally valid version-1 value; SealError otherwise."""
    if not isinstance(sealed, bytes):
        raise TypeError("sealed value must be bytes")
    if len(sealed) < _MIN_SEALED_SIZE:
        raise SealError
    version, key_id = _HEADER.unpack_from(sealed)
    if version != VERSION:
        raise SealError
    return int(key_id)
