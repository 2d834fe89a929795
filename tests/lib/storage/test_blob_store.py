"""VercelBlobStore through the real vercel-blob SDK against the local fake of the Blob HTTP API,
and the choice between it and the local directory store.

Each failure case runs next to its success case on the same fake, so a fake that stopped failing
(or a store that stopped talking to it) would show up as a broken positive case.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import pytest

from lib.config import Secret, Settings
from lib.storage import ObjectExists, ObjectNotFound, StorageError, StoredObject
from lib.storage.blob_store import VercelBlobStore
from lib.storage.local_store import LocalDirectoryStore
from lib.storage.selection import object_store
from tests.lib.storage.test_local_store import HOSTILE_KEYS

if TYPE_CHECKING:
    from tests.fakes.blob_api import FakeBlobApi

# The fake_blob fixture. Loaded as a plugin (not imported) so pytest rewrites its asserts.
pytest_plugins = ["tests.fakes.blob_api"]

ROOT = Path(__file__).resolve().parents[3]
ORG = str(uuid.uuid4())
KEY = f"proofs/{ORG}/{uuid.uuid4()}.jpg"
JPEG = b"\xff\xd8\xff\xe0 a receipt from Plin \xff\xd9"
PRIVATE_HOST = "fakestore0123.private.blob.vercel-storage.com"


def _store(fake: FakeBlobApi, token: str | None = None) -> VercelBlobStore:
    return VercelBlobStore(token or fake.token, transport=fake.transport())


def _wrong_token(fake: FakeBlobApi) -> str:
    # Same store, another secret: passes the SDK's format checks, fails at the API.
    return f"vercel_blob_rw_{fake.store_id}_{'W' * 30}"


def test_round_trip_through_the_sdk_is_private(fake_blob: FakeBlobApi) -> None:
    store = _store(fake_blob)
    store.put(KEY, JPEG, "image/jpeg")
    assert store.get(KEY) == StoredObject(data=JPEG, content_type="image/jpeg")
    store.delete(KEY)
    with pytest.raises(ObjectNotFound):
        store.get(KEY)

    put, get, delete, get_again = fake_blob.requests
    assert (put.method, put.host) == ("PUT", "vercel.com")
    assert httpx2.URL(put.url).params["pathname"] == KEY
    assert put.headers["x-vercel-blob-access"] == "private"
    assert put.headers["x-add-random-suffix"] == "0"
    assert put.headers["x-allow-overwrite"] == "0"
    assert put.headers["x-content-type"] == "image/jpeg"
    assert put.headers["x-cache-control-max-age"] == "60"
    assert put.body == JPEG
    # The download goes to the private host, with the token.
    assert (get.method, get.url) == ("GET", f"https://{PRIVATE_HOST}/{KEY}")
    assert (delete.method, delete.url) == ("POST", "https://vercel.com/api/blob/delete")
    assert json.loads(delete.body) == {"urls": [KEY]}
    for request in fake_blob.requests:
        assert request.headers["authorization"] == f"Bearer {fake_blob.token}"
    assert get_again.host == PRIVATE_HOST
    assert fake_blob.blobs == {}


def test_the_fake_refuses_a_private_download_without_the_token(fake_blob: FakeBlobApi) -> None:
    _store(fake_blob).put(KEY, JPEG, "image/jpeg")
    assert fake_blob.blobs[KEY].access == "private"
    with httpx2.Client(transport=fake_blob.transport()) as client:
        url = fake_blob.delivery_url(KEY)
        assert client.get(url).status_code == 403
        assert client.get(url, headers={"authorization": f"Bearer {_wrong_token(fake_blob)}"}).status_code == 403
        answer = client.get(url, headers={"authorization": f"Bearer {fake_blob.token}"})
        assert (answer.status_code, answer.content) == (200, JPEG)
        assert client.get(fake_blob.delivery_url(KEY, "public")).status_code == 404


def test_a_wrong_token_is_a_storage_error_that_never_shows_the_token(fake_blob: FakeBlobApi) -> None:
    _store(fake_blob).put(KEY, JPEG, "image/jpeg")
    wrong = _wrong_token(fake_blob)
    store = _store(fake_blob, wrong)
    other = f"proofs/{ORG}/{uuid.uuid4()}.jpg"
    for operation in (
        lambda: store.put(other, JPEG, "image/jpeg"),
        lambda: store.get(KEY),
        lambda: store.delete(KEY),
    ):
        with pytest.raises(StorageError, match="refused the token") as caught:
            operation()
        assert not isinstance(caught.value, ObjectNotFound)
        shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
        assert wrong not in shown and "W" * 30 not in shown
        assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert "W" * 30 not in repr(store)
    assert _store(fake_blob).get(KEY).data == JPEG  # the right token still works
    assert other not in fake_blob.blobs


def test_a_missing_blob_is_not_found_and_deleting_it_is_fine(fake_blob: FakeBlobApi) -> None:
    store = _store(fake_blob)
    with pytest.raises(ObjectNotFound):
        store.get(KEY)
    store.delete(KEY)
    store.put(KEY, JPEG, "image/jpeg")
    store.delete(KEY)
    store.delete(KEY)
    assert [r.method for r in fake_blob.requests] == ["GET", "POST", "PUT", "POST", "POST"]
    with pytest.raises(ObjectNotFound):
        store.get(KEY)


def test_a_blob_is_never_overwritten(fake_blob: FakeBlobApi) -> None:
    store = _store(fake_blob)
    store.put(KEY, JPEG, "image/jpeg")
    with pytest.raises(ObjectExists):
        store.put(KEY, b"\xff\xd8 another receipt \xff\xd9", "image/jpeg")
    assert store.get(KEY).data == JPEG


@pytest.mark.parametrize(
    ("status", "retry_after", "message"),
    [
        (500, None, "Vercel Blob failed"),
        (502, None, "Vercel Blob failed"),
        (503, None, "unavailable or rate limiting"),
        (429, "7", "unavailable or rate limiting"),
    ],
)
def test_provider_failures_are_storage_errors(
    fake_blob: FakeBlobApi, status: int, retry_after: str | None, message: str
) -> None:
    store = _store(fake_blob)
    for operation in (
        lambda: store.put(KEY, JPEG, "image/jpeg"),
        lambda: store.get(KEY),
        lambda: store.delete(KEY),
    ):
        fake_blob.fail_next(status=status, retry_after=retry_after)
        with pytest.raises(StorageError, match=message) as caught:
            operation()
        assert not isinstance(caught.value, ObjectNotFound | ObjectExists)
        assert f"HTTP {status}" in str(caught.value)
        assert "on purpose" not in str(caught.value)  # the provider's free text stays out
    store.put(KEY, JPEG, "image/jpeg")
    assert store.get(KEY).data == JPEG


def test_an_unreachable_api_is_a_storage_error(fake_blob: FakeBlobApi) -> None:
    store = _store(fake_blob)
    fake_blob.fail_next(status=None)
    with pytest.raises(StorageError, match=r"unreachable \(ConnectError\)"):
        store.put(KEY, JPEG, "image/jpeg")
    fake_blob.fail_next(status=None)
    with pytest.raises(StorageError, match="unreachable"):
        store.get(KEY)
    store.put(KEY, JPEG, "image/jpeg")


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_refused_before_any_request(fake_blob: FakeBlobApi, key: str) -> None:
    store = _store(fake_blob)
    for operation in (
        lambda: store.put(key, JPEG, "image/jpeg"),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError, match="object keys"):
            operation()
    assert fake_blob.requests == []
    store.put(KEY, JPEG, "image/jpeg")
    assert len(fake_blob.requests) == 1


def test_the_content_type_must_match_the_extension(fake_blob: FakeBlobApi) -> None:
    store = _store(fake_blob)
    with pytest.raises(ValueError, match="stored as image/jpeg"):
        store.put(KEY, JPEG, "text/html")
    assert fake_blob.requests == []
    store.put(KEY, JPEG, "image/jpeg")
    assert fake_blob.blobs[KEY].content_type == "image/jpeg"


def test_vercel_blob_api_url_moves_the_api_but_not_downloads(
    fake_blob: FakeBlobApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERCEL_BLOB_API_URL", "https://blob-api.zentro.test/api/blob")
    fake_blob.api_url = "https://blob-api.zentro.test/api/blob"
    store = _store(fake_blob)
    store.put(KEY, JPEG, "image/jpeg")
    assert store.get(KEY).data == JPEG
    store.delete(KEY)
    assert [r.host for r in fake_blob.requests] == ["blob-api.zentro.test", PRIVATE_HOST, "blob-api.zentro.test"]

    monkeypatch.delenv("VERCEL_BLOB_API_URL")
    with pytest.raises(StorageError, match="unreachable"):  # the fake serves only the moved API
        _store(fake_blob).put(KEY, JPEG, "image/jpeg")


def test_the_api_url_must_be_https(fake_blob: FakeBlobApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERCEL_BLOB_API_URL", "http://blob-api.zentro.test/api/blob")
    with pytest.raises(ValueError, match="https"):
        _store(fake_blob)
    monkeypatch.setenv("VERCEL_BLOB_API_URL", "http://127.0.0.1:9/api/blob")
    assert "127.0.0.1" in repr(_store(fake_blob))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "vercel_blob_rw_",
        "vercel_blob_rw_FakeStore0123",
        "vercel_blob_rw_FakeStore0123_",
        "vercel_blob_rw_FakeStore0123_Sekr3t with space",
        "vercel_blob_ro_FakeStore0123_Sekr3t",
        "re_Sekr3t",
        " vercel_blob_rw_FakeStore0123_Sekr3t",
    ],
)
def test_a_malformed_token_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(ValueError, match="read-write token") as caught:
        VercelBlobStore(token)
    assert "Sekr3t" not in str(caught.value) and "FakeStore0123" not in str(caught.value)
    assert repr(VercelBlobStore("vercel_blob_rw_FakeStore0123_" + "s" * 30)).startswith("VercelBlobStore(store=")


# --- choosing the store ----------------------------------------------------------------------------


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "development",
        "on_vercel": False,
        "database_url": Secret("postgresql+psycopg://x@/y"),
        "password_pepper": Secret("p" * 32),
        "encryption_keys": Secret("1:k"),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_the_store_follows_the_settings_and_is_built_once(tmp_path: Path, fake_blob: FakeBlobApi) -> None:
    local = object_store(_settings(storage_dir=str(tmp_path / "files")))
    assert isinstance(local, LocalDirectoryStore) and local.root == (tmp_path / "files").resolve()
    assert object_store(_settings(storage_dir=str(tmp_path / "files"))) is local

    with_token = _settings(storage_dir=str(tmp_path / "files"), blob_read_write_token=Secret(fake_blob.token))
    blob = object_store(with_token)
    assert isinstance(blob, VercelBlobStore)
    assert object_store(with_token) is blob


def test_no_store_without_a_token_or_a_directory() -> None:
    with pytest.raises(StorageError, match="STORAGE_DIR"):
        object_store(_settings())


def test_a_deployment_never_falls_back_to_a_local_directory(tmp_path: Path, fake_blob: FakeBlobApi) -> None:
    with pytest.raises(StorageError, match="BLOB_READ_WRITE_TOKEN"):
        object_store(_settings(environment="production", storage_dir=str(tmp_path)))
    deployed = _settings(
        environment="production", storage_dir=str(tmp_path), blob_read_write_token=Secret(fake_blob.token)
    )
    assert isinstance(object_store(deployed), VercelBlobStore)


def test_importing_the_storage_modules_does_not_import_the_sdk(tmp_path: Path) -> None:
    code = f"""
import sys
import lib.storage, lib.storage.selection, lib.storage.local_store, lib.storage.blob_store
from lib.config import Secret, Settings
heavy = ("vercel.blob", "pydantic", "httpx2")
print(*[m in sys.modules for m in heavy])
settings = Settings(environment="development", on_vercel=False, database_url=Secret("x"),
                    password_pepper=Secret("x"), encryption_keys=Secret("x"), storage_dir={str(tmp_path)!r})
lib.storage.selection.object_store(settings)
print(*[m in sys.modules for m in heavy])
lib.storage.selection.object_store(Settings(environment="development", on_vercel=False, database_url=Secret("x"),
    password_pepper=Secret("x"), encryption_keys=Secret("x"),
    blob_read_write_token=Secret("vercel_blob_rw_FakeStore0123_{"s" * 30}")))
print(*[m in sys.modules for m in heavy])
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.splitlines() == ["False False False", "False False False", "True True True"]
