"""Which object store this process uses: Vercel Blob with BLOB_READ_WRITE_TOKEN (always, in
production and preview), else a local directory at STORAGE_DIR (./scripts/dev: .data/storage).

Importing this module loads neither store: the Blob SDK (pydantic, anyio, httpx2) is imported
the first time a function asks for the Blob store, so cold starts of functions that never touch
stored files do not pay for it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from lib.storage.objects import ObjectStore, StorageError

if TYPE_CHECKING:
    from lib.config import Settings


def object_store(settings: Settings) -> ObjectStore:
    """The store these settings describe, built once per configuration."""
    token = settings.blob_read_write_token.reveal() if settings.blob_read_write_token else None
    if token is None and settings.deployed:
        # lib.config already refuses this; a local directory on a serverless host would lose files.
        raise StorageError("BLOB_READ_WRITE_TOKEN is required in production and preview")
    return _store(token, settings.storage_dir)


@functools.cache
def _store(token: str | None, storage_dir: str | None) -> ObjectStore:
    if token:
        from lib.storage.blob_store import VercelBlobStore

        return VercelBlobStore(token)
    if not storage_dir:
        raise StorageError("neither BLOB_READ_WRITE_TOKEN nor STORAGE_DIR is set")
    from lib.storage.local_store import LocalDirectoryStore

    return LocalDirectoryStore(Path(storage_dir))
