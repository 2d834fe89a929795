"""Private object storage (payment proofs, screenshots): Vercel Blob when deployed, a local
directory otherwise. `lib.storage.selection.object_store(settings)` picks the store; importing
this package loads neither the Blob SDK nor the local store.
"""

from __future__ import annotations

from lib.storage.objects import (
    CONTENT_TYPES,
    ObjectExists,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StoredObject,
    check_key,
    content_type_for,
)

__all__ = [
    "CONTENT_TYPES",
    "ObjectExists",
    "ObjectNotFound",
    "ObjectStore",
    "StorageError",
    "StoredObject",
    "check_key",
    "content_type_for",
]
