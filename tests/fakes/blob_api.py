"""A local fake of the Vercel Blob HTTP API, as the `vercel-blob` 0.5 SDK calls it.

It is an `httpx2.MockTransport` handler, not a server: the SDK sends downloads to
`https://<store id>.private.blob.vercel-storage.com/<pathname>` whatever VERCEL_BLOB_API_URL
says, so only the HTTP transport can catch every request. `VercelBlobStore(token,
transport=fake.transport())` sends everything here; nothing reaches the network.

What it models (requests as vercel/blob/_internal/api_client.py builds them; answers as its
pydantic models and `_map_http_error` parse them):

- every API request: `Authorization: Bearer <token>` (a missing or different token -> 403
  `{"error": {"code": "forbidden", "message": ...}}`, which the SDK raises as
  `BlobAccessError`); `x-api-version` is recorded, not checked;
- upload: `PUT <api url>?pathname=<pathname>`, the body the object's bytes, headers
  `x-vercel-blob-access` (public|private, required), `x-add-random-suffix` and
  `x-allow-overwrite` ("1"/"0"), `x-content-type`, `x-cache-control-max-age`. An existing
  pathname without `x-allow-overwrite: 1` -> 400 `bad_request` "This blob already exists, ...".
  Success -> 200 `{url, downloadUrl, pathname, contentType, contentDisposition, etag}`;
- head: `GET <api url>?url=<url or pathname>` -> 200 `{url, downloadUrl, pathname, size,
  uploadedAt, contentType, contentDisposition, cacheControl, etag}`, or 404 `not_found`;
- delete: `POST <api url>/delete` with JSON `{"urls": [<url or pathname>, ...]}` -> 200 `{}`,
  missing blobs ignored;
- download: `GET https://<store id, lowercase>.<access>.blob.vercel-storage.com/<pathname>`:
  the private host wants the Bearer token before anything else (else 403 `forbidden`); a
  missing blob, another store's host or a blob of the other access level -> 404 with a
  plain-text body (the SDK maps the status);
  success -> the bytes with content-type, content-length, etag, last-modified, cache-control
  and content-disposition.

Not modeled: list, copy, multipart uploads (501), OIDC credentials, the API's limits (pathname
length, minimum cache age, file size), retries. `fail_next()` answers the next requests with an
error status (429 with Retry-After, 503, 500, ...) or raises a connection error, before anything
else is checked. `requests` records every request seen; `blobs` holds what is stored.

`fake_blob` (function scope) hands each test a new fake and clears VERCEL_BLOB_API_URL. A test
module loads it with `pytest_plugins = ["tests.fakes.blob_api"]`.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx2
import pytest

DEFAULT_STORE_ID = "FakeStore0123"
DEFAULT_TOKEN = f"vercel_blob_rw_{DEFAULT_STORE_ID}_{'S3cr3t' * 5}"
DEFAULT_API_URL = "https://vercel.com/api/blob"
DELIVERY_SUFFIX = ".blob.vercel-storage.com"
DEFAULT_CACHE_MAX_AGE = 30 * 24 * 3600  # one month, the API's default
ALREADY_EXISTS = (
    "This blob already exists, use `allowOverwrite: true` if you want to overwrite it. "
    "Or `addRandomSuffix: true` to generate a unique filename."
)
_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    429: "rate_limited",
    500: "internal_server_error",
    503: "service_unavailable",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


@dataclass
class StoredBlob:
    pathname: str
    data: bytes
    content_type: str
    access: str
    cache_max_age: int
    uploaded_at: datetime
    etag: str


@dataclass
class _Failure:
    status: int | None  # None: the connection fails
    retry_after: str | None


@dataclass
class FakeBlobApi:
    token: str = DEFAULT_TOKEN
    store_id: str = DEFAULT_STORE_ID
    api_url: str = DEFAULT_API_URL
    blobs: dict[str, StoredBlob] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx2.MockTransport:
        """An HTTP transport that sends every request to this fake."""
        return httpx2.MockTransport(self.handle)

    def fail_next(self, count: int = 1, *, status: int | None = 500, retry_after: str | None = None) -> None:
        """Answer the next `count` requests with `status` (None: raise a connection error)."""
        with self._lock:
            self._failures += [_Failure(status, retry_after) for _ in range(count)]

    def delivery_url(self, pathname: str, access: str = "private") -> str:
        return f"https://{self.store_id.lower()}.{access}{DELIVERY_SUFFIX}/{quote(pathname, safe='/')}"

    def requests_to(self, host: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.host == host]

    # --- the HTTP side -------------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    request.method,
                    str(request.url),
                    {k.lower(): v for k, v in request.headers.items()},
                    request.content,
                )
            )
            failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                if failure.status is None:
                    raise httpx2.ConnectError("fake: connection refused", request=request)
                headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
                return _error(failure.status, "The fake failed this request on purpose.", headers)
            host = request.url.host
            if host.endswith(DELIVERY_SUFFIX):
                return self._download(request)
            api = urlsplit(self.api_url)
            if host != api.hostname or not request.url.path.startswith(api.path):
                raise httpx2.ConnectError(f"fake: no Blob API at {host}", request=request)
            if not self._authorized(request):
                return _error(403, "Access denied, please provide a valid token for this resource.")
            route = request.url.path[len(api.path) :].rstrip("/")
            if request.method == "PUT" and route == "" and "fromUrl" not in request.url.params:
                return self._put(request)
            if request.method == "GET" and route == "" and "url" in request.url.params:
                return self._head(request.url.params["url"])
            if request.method == "POST" and route == "/delete":
                return self._delete(request)
            return _error(501, f"{request.method} {route or '/'} is not modeled by the fake")

    def _authorized(self, request: httpx2.Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(token.encode(), self.token.encode())

    def _put(self, request: httpx2.Request) -> httpx2.Response:
        pathname = request.url.params.get("pathname", "")
        access = request.headers.get("x-vercel-blob-access")
        if not pathname or pathname.startswith("/") or ".." in pathname.split("/"):
            return _error(400, "Invalid pathname")
        if access not in ("public", "private"):
            return _error(400, "Access must be 'public' or 'private'")
        if request.headers.get("x-add-random-suffix") == "1":
            stem, dot, extension = pathname.rpartition(".")
            suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(30))
            pathname = f"{stem}-{suffix}{dot}{extension}" if dot else f"{pathname}-{suffix}"
        if pathname in self.blobs and request.headers.get("x-allow-overwrite") != "1":
            return _error(400, ALREADY_EXISTS)
        content_type = (
            request.headers.get("x-content-type") or mimetypes.guess_type(pathname)[0] or "application/octet-stream"
        )
        max_age = int(request.headers.get("x-cache-control-max-age") or DEFAULT_CACHE_MAX_AGE)
        data = request.content
        blob = StoredBlob(
            pathname=pathname,
            data=data,
            content_type=content_type,
            access=access,
            cache_max_age=max_age,
            uploaded_at=datetime.now(UTC),
            etag=f'"{hashlib.sha256(data).hexdigest()[:32]}"',
        )
        self.blobs[pathname] = blob
        return httpx2.Response(
            200,
            json={
                "url": self.delivery_url(pathname, access),
                "downloadUrl": self.delivery_url(pathname, access) + "?download=1",
                "pathname": pathname,
                "contentType": content_type,
                "contentDisposition": _disposition(pathname),
                "etag": blob.etag,
            },
        )

    def _head(self, url_or_pathname: str) -> httpx2.Response:
        blob = self.blobs.get(self._pathname(url_or_pathname))
        if blob is None:
            return _error(404, "The requested blob does not exist")
        return httpx2.Response(
            200,
            json={
                "url": self.delivery_url(blob.pathname, blob.access),
                "downloadUrl": self.delivery_url(blob.pathname, blob.access) + "?download=1",
                "pathname": blob.pathname,
                "size": len(blob.data),
                "uploadedAt": blob.uploaded_at.isoformat().replace("+00:00", "Z"),
                "contentType": blob.content_type,
                "contentDisposition": _disposition(blob.pathname),
                "cacheControl": f"public, max-age={blob.cache_max_age}",
                "etag": blob.etag,
            },
        )

    def _delete(self, request: httpx2.Request) -> httpx2.Response:
        try:
            urls = json.loads(request.content)["urls"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "Invalid request body")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            return _error(400, "Invalid request body")
        for url in urls:
            self.blobs.pop(self._pathname(url), None)
        return httpx2.Response(200, json={})

    def _download(self, request: httpx2.Request) -> httpx2.Response:
        label = request.url.host[: -len(DELIVERY_SUFFIX)]
        store, _, access = label.partition(".")
        not_found = httpx2.Response(404, text="Not Found", headers={"content-type": "text/plain"})
        if request.method != "GET" or store != self.store_id.lower() or access not in ("public", "private"):
            return not_found
        # A private store checks the token before it says whether the blob exists.
        if access == "private" and not self._authorized(request):
            return _error(403, "Access denied, please provide a valid token for this resource.")
        blob = self.blobs.get(unquote(request.url.path).removeprefix("/"))
        if blob is None or blob.access != access:
            return not_found
        attachment = request.url.params.get("download") == "1"
        return httpx2.Response(
            200,
            content=blob.data,
            headers={
                "content-type": blob.content_type,
                "etag": blob.etag,
                "last-modified": format_datetime(blob.uploaded_at, usegmt=True),
                "cache-control": f"{'private' if access == 'private' else 'public'}, max-age={blob.cache_max_age}",
                "content-disposition": _disposition(blob.pathname, attachment=attachment),
            },
        )

    def _pathname(self, url_or_pathname: str) -> str:
        if url_or_pathname.startswith("https://"):
            return unquote(urlsplit(url_or_pathname).path).removeprefix("/")
        return url_or_pathname


def _disposition(pathname: str, *, attachment: bool = False) -> str:
    return f'{"attachment" if attachment else "inline"}; filename="{pathname.rsplit("/", 1)[-1]}"'


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    body: dict[str, Any] = {"error": {"code": _ERROR_CODES.get(status, "unknown_error"), "message": message}}
    return httpx2.Response(status, json=body, headers=headers or {})


@pytest.fixture
def fake_blob(monkeypatch: pytest.MonkeyPatch) -> FakeBlobApi:
    """A new fake Blob API; the SDK's API URL is its default unless a test sets it."""
    monkeypatch.delenv("VERCEL_BLOB_API_URL", raising=False)
    monkeypatch.delenv("NEXT_PUBLIC_VERCEL_BLOB_API_URL", raising=False)
    return FakeBlobApi()
