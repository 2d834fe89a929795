"""ASVS V2.4.1 on the routes that move the most data: a burst of exports, CSV imports or proof
uploads answers 429 with Retry-After, before any of the request's work, in Spanish or English;
a colleague is still served, and so is the same person once the window has passed."""

from __future__ import annotations

from typing import Any

import pytest

from lib import bursts
from tests.api.orders.conftest import open_shop
from tests.api.payments.conftest import PaymentShop, stored_files
from tests.conftest import Database
from tests.order_samples import csv_file, csv_row
from tests.proof_samples import jpeg_bytes

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def shop(database: Database, browser: Any) -> PaymentShop:
    base = open_shop(database, browser)
    return PaymentShop(org=base.org, accounts=base.accounts, clients=base.clients, database=base.database)


def _window_passes(shop: PaymentShop, who: str, burst: bursts.Burst) -> None:
    """Move `who`'s current window of `burst` back past its end, as time would."""
    with shop.database.connect("superuser") as conn:
        moved = conn.execute(
            "UPDATE request_bursts SET window_started_at = window_started_at - %s "
            "WHERE org_id = %s AND user_id = %s AND kind = %s",
            (burst.window, shop.org, shop.accounts[who].id, burst.kind),
        ).rowcount
    assert moved == 1


def _assert_too_many(response: Any, burst: bursts.Burst) -> None:
    assert response.status_code == 429, response.text
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= burst.window.total_seconds()
    error = response.json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"] == f"Too many requests of this kind in a short time. Try again in {retry} s."


def test_an_export_burst_is_refused_before_its_work(shop: PaymentShop) -> None:
    shop.capture()
    for _ in range(bursts.ORDER_EXPORT.allowed):
        assert shop["admin"].get("/api/orders/export").status_code == 200
    exported = len(shop.audit("order.exported"))
    assert exported == bursts.ORDER_EXPORT.allowed

    refused = shop["admin"].get("/api/orders/export", headers={"Accept-Language": "en"})
    _assert_too_many(refused, bursts.ORDER_EXPORT)
    spanish = shop["admin"].get("/api/orders/export")
    assert spanish.status_code == 429 and spanish.json()["error"]["message"].startswith("Demasiadas solicitudes")
    assert len(shop.audit("order.exported")) == exported  # refused before the count, the audit, the stream

    assert shop["supervisor"].get("/api/orders/export").status_code == 200  # each person has their own
    _window_passes(shop, "admin", bursts.ORDER_EXPORT)
    assert shop["admin"].get("/api/orders/export").status_code == 200


def test_failed_imports_count_and_a_refused_import_writes_nothing(shop: PaymentShop) -> None:
    for _ in range(bursts.ORDER_IMPORT.allowed):  # a script hammering the parser with broken files
        assert shop["admin"].post("/api/orders/imports", content=b"\xff\xfe\x00broken", headers=CSV).status_code == 422
    good = csv_file([csv_row("BURST-1")])
    orders = shop.count()

    refused = shop["admin"].post("/api/orders/imports", content=good, headers={**CSV, "Accept-Language": "en"})
    _assert_too_many(refused, bursts.ORDER_IMPORT)
    assert shop.count() == orders

    _window_passes(shop, "admin", bursts.ORDER_IMPORT)
    served = shop["admin"].post("/api/orders/imports", content=good, headers=CSV)
    assert served.status_code == 200, served.text
    assert served.json()["created"] == 1 and shop.count() == orders + 1


def test_a_proof_upload_burst_is_refused_and_stores_nothing(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    for _ in range(bursts.PROOF_UPLOAD.allowed):  # refused files count as well
        assert shop.upload(payment, b"", "yape.jpg").status_code == 415

    refused = shop.clients["seller"].put(
        f"/api/payments/{payment['id']}/proof",
        files={"file": ("yape.jpg", jpeg_bytes(), "image/jpeg")},
        headers={"If-Match": f'"{payment["version"]}"', "Accept-Language": "en"},
    )
    _assert_too_many(refused, bursts.PROOF_UPLOAD)
    assert stored_files(shop) == []

    _window_passes(shop, "seller", bursts.PROOF_UPLOAD)
    served = shop.upload(payment, jpeg_bytes())
    assert served.status_code == 200, served.text
    assert len(stored_files(shop)) == 1
