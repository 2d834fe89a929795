"""Private objects in Vercel Blob through the official SDK (`vercel-blob` 0.5, `vercel.blob.sync`).

The SDK is imported when a `VercelBlobStore` is built, never when this module is: it pulls in
pydantic, anyio and httpx2 (~0.3 s), and only functions that touch stored files should pay.

How the SDK is driven (read from its source, vercel-blob 0.5.0 / vercel-internal-core 0.2.2):

- Every operation runs in its own `vercel.api.session(service_options=[...],
  httpx_client_factory=...)`. The SDK keeps no per-call token argument; a session carries a
  `SyncBlobServiceOptions` whose credentials factory returns *our* token (READ_WRITE, the store
  id taken from the token). The SDK's default factory would read the environment itself and
  prefer a Vercel OIDC token whenever BLOB_STORE_ID is set; with ours the store is the one
  BLOB_READ_WRITE_TOKEN names, whatever else the environment holds.
- The API base URL is the SDK's: it reads VERCEL_BLOB_API_URL itself (default
  https://vercel.com/api/blob) for put, head, list and delete. Downloads always go to
  `https://<store id>.private.blob.vercel-storage.com/<key>`, built by the SDK from the store id,
  through the *same* HTTP client: a `transport` given to the constructor (tests pass an
  `httpx2.MockTransport`) sees every request, downloads included.
- The HTTP client is built here, one per operation (the session closes it on exit): explicit
  timeouts instead of the SDK's 60 s, no redirects, no proxy settings from the environment. No
  connection is kept between operations: a serverless instance is frozen between invocations and
  a kept-alive socket is often dead when it wakes, and the SDK does not retry.
- put: `put_blob(key, data, access="private", content_type=..., add_random_suffix=False,
  allow_overwrite=False, cache_control_max_age=60)`. The key is already random; the store
  refuses to overwrite; a one-minute cache (the default is a month) so a deleted proof stops
  being served from Vercel's CDN soon after. Nothing is ever served from the blob URL itself:
  files reach users only through an authorized function.
- get: `get_blob(key, access="private")`, which sends the token to the private host.
- delete: `delete_blob(key)`; a blob that is already gone is not an error.

Failures (vercel/blob/errors.py; `_map_http_error` in vercel/blob/_internal/api_client.py):

- `BlobNotFoundError` (HTTP 404, code `not_found`/`blob_not_found`) -> ObjectNotFound;
- HTTP 400 "This blob already exists" (code `bad_request`) -> ObjectExists;
- `BlobAccessError` (401/403 `forbidden`: a wrong token), `BlobCredentialsError`,
  `BlobStoreNotFoundError`, `BlobStoreSuspendedError` -> StorageError "refused";
- `BlobServiceRateLimited` (429), `BlobServiceNotAvailable` (503), `BlobUnknownError` (other
  statuses, and network errors, which the SDK wraps with `raise BlobUnknownError() from exc`),
  any other `BlobError`, an httpx2 error while the body streams -> StorageError.

Our messages name the SDK's exception class, the HTTP status and the provider's error code
(checked to look like an identifier), never its free text, and are raised outside the `except`
block so the SDK's exception is not chained: nothing carrying a URL or the token reaches a log.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from lib.storage.objects import (
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StoredObject,
    check_key,
    check_put,
    content_type_for,
)

if TYPE_CHECKING:
    import httpx2
    from vercel.blob.errors import BlobError
    from vercel.blob.sync import SyncBlobServiceOptions

T = TypeVar("T")

# vercel_blob_rw_<store id>_<secret>, as the SDK splits it (credentials.py store_from_read_write_token).
_TOKEN = re.compile(r"vercel_blob_rw_([A-Za-z0-9-]+)_([\x21-\x7e]+)")
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CACHE_MAX_AGE_SECONDS = 60


class VercelBlobStore:
    """Objects in a private Vercel Blob store. `token` is BLOB_READ_WRITE_TOKEN; `transport`
    replaces the network (tests: `httpx2.MockTransport`), production passes none."""

    def __init__(
        self,
        token: str,
        *,
        transport: httpx2.BaseTransport | None = None,
        connect_timeout: float = 5.0,
        timeout: float = 30.0,
    ) -> None:
        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            raise ValueError("a Vercel Blob read-write token (vercel_blob_rw_<store>_<secret>) is required")
        if not (0 < connect_timeout <= 60 and 0 < timeout <= 120):
            raise ValueError("timeouts must be positive: at most 60 s to connect and 120 s otherwise")

        import httpx2  # the heavy imports, paid once, here
        from vercel.blob.sync import BlobCredentials, CredentialKind, SyncBlobServiceOptions

        credentials = BlobCredentials(token, match.group(1), CredentialKind.READ_WRITE)
        self._store_id = match.group(1)
        # Reads VERCEL_BLOB_API_URL now (vercel/blob/_internal/options.py).
        self._options: SyncBlobServiceOptions = SyncBlobServiceOptions(credentials_factory=lambda: credentials)
        _check_api_url(self._options.base_url)
        self._transport = transport
        self._timeout = httpx2.Timeout(timeout, connect=connect_timeout)

    def __repr__(self) -> str:
        return f"VercelBlobStore(store={self._store_id!r}, api_url={self._options.base_url!r})"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_put(key, data, content_type)
        from vercel.blob.sync import put_blob

        try:
            self._run(
                lambda: put_blob(
                    key,
                    data,
                    access="private",
                    content_type=content_type,
                    add_random_suffix=False,
                    allow_overwrite=False,
                    cache_control_max_age=CACHE_MAX_AGE_SECONDS,
                )
            )
        except ObjectNotFound:
            raise StorageError("Vercel Blob answered an upload with not found") from None

    def get(self, key: str) -> StoredObject:
        check_key(key)
        from vercel.blob.sync import get_blob

        result = self._run(lambda: get_blob(key, access="private"))
        return StoredObject(data=result.body, content_type=result.metadata.content_type or content_type_for(key))

    def delete(self, key: str) -> None:
        check_key(key)
        from vercel.blob.sync import delete_blob

        with contextlib.suppress(ObjectNotFound):  # already gone: deleting is idempotent
            self._run(lambda: delete_blob(key))

    def _client(self) -> httpx2.Client:
        import httpx2

        return httpx2.Client(transport=self._transport, timeout=self._timeout, follow_redirects=False, trust_env=False)

    @contextmanager
    def _session(self) -> Iterator[None]:
        import vercel.api

        with vercel.api.session(service_options=[self._options], httpx_client_factory=self._client):
            yield

    def _run(self, operation: Callable[[], T]) -> T:
        import httpx2
        from vercel.blob.errors import BlobError
        from vercel.errors import VercelError

        error: StorageError
        try:
            with self._session():
                return operation()
        except BlobError as exc:
            error = _translate(exc)
        except httpx2.HTTPError as exc:  # the SDK wraps request errors, not a body that breaks off
            error = StorageError(f"Vercel Blob unreachable ({type(exc).__name__})")
        except VercelError as exc:
            error = StorageError(f"Vercel Blob SDK session failed ({type(exc).__name__})")
        # Raised outside the except blocks: the SDK's exception is not chained into ours.
        raise error


def _translate(exc: BlobError) -> StorageError:
    import httpx2
    from vercel.blob.errors import (
        BlobAccessError,
        BlobCredentialsError,
        BlobNotFoundError,
        BlobServiceNotAvailable,
        BlobServiceRateLimited,
        BlobStoreNotFoundError,
        BlobStoreSuspendedError,
        BlobUnknownError,
    )

    status = exc.status_code if isinstance(exc.status_code, int) else None
    code = exc.code if isinstance(exc.code, str) and _ERROR_CODE.fullmatch(exc.code) else "unknown"
    described = f"{type(exc).__name__}, HTTP {status if status is not None else '-'}, {code}"
    if isinstance(exc, BlobNotFoundError):
        return ObjectNotFound("no object under this key")
    if status == 400 and "already exists" in str(exc):
        return ObjectExists("an object already exists under this key")
    if isinstance(exc, BlobAccessError | BlobCredentialsError | BlobStoreNotFoundError | BlobStoreSuspendedError):
        return StorageError(f"Vercel Blob refused the token or the store ({described})")
    if isinstance(exc, BlobServiceRateLimited | BlobServiceNotAvailable):
        return StorageError(f"Vercel Blob is unavailable or rate limiting ({described})")
    if isinstance(exc, BlobUnknownError) and isinstance(exc.__cause__, httpx2.HTTPError):
        return StorageError(f"Vercel Blob unreachable ({type(exc.__cause__).__name__})")
    return StorageError(f"Vercel Blob failed ({described})")


def _check_api_url(url: str) -> None:
    parts = urlsplit(url)
    loopback = parts.hostname in _LOOPBACK_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        # The token travels in every request's Authorization header.
        raise ValueError("VERCEL_BLOB_API_URL must be https:// (plain http only on a loopback host)")
