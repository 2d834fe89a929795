"""What an object store keeps, how its keys look, and how it fails.

Stores hold private files (payment proofs; later, Zeus failure screenshots) under keys the server
generates, never under names a client sent:

    <namespace>/<uuid>[/<uuid>].<ext>

- namespace: 1-32 characters of `a-z 0-9 -`, starting with a letter (`proofs`, `screenshots`);
- one or two UUIDs in the canonical form `str(uuid.uuid4())` prints: lowercase hex, 8-4-4-4-12;
- ext: `jpg`, `png`, `webp` or `pdf`, lowercase.

For example `proofs/<org id>/<proof id>.jpg` or `screenshots/<org id>/<run id>.png`. The pattern
leaves no room for `.` or `..` segments, a leading `/`, backslashes, NUL or other control
characters, whitespace, uppercase or non-ASCII letters, so a key is as safe as a file path under
a local root as it is as a Blob pathname; `check_key` refuses anything else with ValueError.

Each extension has exactly one content type (`CONTENT_TYPES`) and `put` accepts no other: a stored
object can never come back labelled `text/html` or `image/svg+xml`, whatever a caller believed.

Errors: `StorageError` is the store failing (network, provider 5xx or rate limit, credentials or
store refused, a broken local directory). Its message is ours: the kind of failure, an HTTP
status, the provider's error code; never the token, the provider's free text or the data.
`ObjectNotFound` and `ObjectExists` are its subclasses for a missing key and a taken one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# re.fullmatch and explicit ASCII classes: `$` would also match before a trailing newline.
_KEY = re.compile(rf"[a-z][a-z0-9-]{{0,31}}(?:/{_UUID}){{1,2}}\.(jpg|png|webp|pdf)")

CONTENT_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}


class StorageError(Exception):
    """The store failed to do what was asked: retrying later may work. Opaque message."""


class ObjectNotFound(StorageError):
    """No object under this key: never stored, or deleted."""


class ObjectExists(StorageError):
    """`put` found the key taken. Keys are fresh UUIDs, so this is a bug or a replay; the stored
    object is left as it was (objects are never overwritten)."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes = field(repr=False)  # a customer's document: never in a log line
    content_type: str


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` privately under a new `key`; ObjectExists if the key is taken."""
        ...

    def get(self, key: str) -> StoredObject:
        """The object under `key`, or ObjectNotFound."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object under `key`; a key with nothing under it is not an error."""
        ...


def check_key(key: str) -> str:
    """`key` unchanged if it is a server-generated object key (module docstring); else ValueError."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        # The key is not echoed: it may be hostile and end up in a log line.
        raise ValueError("object keys look like 'proofs/<uuid>/<uuid>.jpg' (jpg, png, webp or pdf)")
    return key


def content_type_for(key: str) -> str:
    """The one content type objects under `key` are stored with."""
    return CONTENT_TYPES[check_key(key).rsplit(".", 1)[1]]


def check_put(key: str, data: bytes, content_type: str) -> None:
    """What every store checks before writing: a valid key, non-empty bytes, and the content
    type of the key's extension. ValueError otherwise."""
    expected = content_type_for(key)
    if not isinstance(data, bytes) or not data:
        raise ValueError("data must be non-empty bytes")
    if content_type != expected:
        raise ValueError(f"objects with this extension are stored as {expected}")
