"""The same proof routes on the production path: our Blob store, the official SDK, a fake Blob API.

The local directory store serves the other API tests; here the functions store, serve and
remove proofs through `VercelBlobStore` and the real `vercel-blob` SDK, whose HTTP requests go
to tests/fakes/blob_api.py (uploads, private downloads with the token, deletes).
"""

from __future__ import annotations

from typing import Any

import pytest

from lib.storage.blob_store import VercelBlobStore
from tests.api.payments.conftest import PaymentShop
from tests.fakes.blob_api import FakeBlobApi
from tests.proof_samples import gps_jpeg_bytes, jpeg_bytes

pytest_plugins = ["tests.fakes.blob_api"]
pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def blob(fake_blob: FakeBlobApi, monkeypatch: pytest.MonkeyPatch) -> FakeBlobApi:
    from lib.payments import proofs
    from lib.storage import deletions

    def store(_: Any) -> VercelBlobStore:
        return VercelBlobStore(fake_blob.token, transport=fake_blob.transport())

    monkeypatch.setattr(proofs, "object_store", store)
    monkeypatch.setattr(deletions, "object_store", store)
    return fake_blob


def test_upload_download_and_delete_through_the_blob_sdk(shop: PaymentShop, blob: FakeBlobApi) -> None:
    payment = shop.paid(shop.capture())
    uploaded = shop.upload(payment, gps_jpeg_bytes(), "IMG_0001.jpg")
    assert uploaded.status_code == 200, uploaded.text
    [(pathname, stored)] = blob.blobs.items()
    assert pathname.startswith(f"proofs/{shop.org}/") and pathname.endswith(".jpg")
    put = [r for r in blob.requests if r.method == "PUT"][-1]
    assert put.headers["x-vercel-blob-access"] == "private"
    assert put.headers.get("x-allow-overwrite") in (None, "0")
    assert b"Exif" not in stored.data[:4096]  # what reached the provider was already clean

    served = shop["seller"].get(f"/api/payments/{payment['id']}/proof")
    assert served.status_code == 200 and served.content == stored.data
    assert "blob.vercel-storage.com" not in str(uploaded.json()) + str(served.headers)

    removed = shop["seller"].delete(
        f"/api/payments/{payment['id']}", headers={"If-Match": f'"{uploaded.json()["version"]}"'}
    )
    assert removed.status_code == 204
    assert blob.blobs == {}


def test_a_blob_outage_on_upload_is_a_503_and_records_nothing(shop: PaymentShop, blob: FakeBlobApi) -> None:
    payment = shop.paid(shop.capture())
    blob.fail_next(status=503)
    response = shop.upload(payment, jpeg_bytes())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert blob.blobs == {}
    assert shop["seller"].get(f"/api/payments/{payment['id']}").json()["proof"] is None
    assert shop.upload(payment, jpeg_bytes()).status_code == 200
