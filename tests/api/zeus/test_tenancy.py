"""Another organization's shipment is not found, on every shipment route, and stays as it was."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.orders.conftest import open_shop
from tests.api.zeus.conftest import Zeus, ZeusShop
from tests.conftest import Database

# (method, path): the status our own shipment (needing review, with a screenshot) answers.
SHIPMENT_ROUTES: dict[tuple[str, str], int] = {
    ("GET", "/api/orders/{id}/shipment"): 200,
    ("POST", "/api/orders/{id}/shipment"): 202,
    ("GET", "/api/orders/{id}/shipment/screenshot"): 200,
}


def _shop_with_a_failed_shipment(database: Database, browser: Any, zeus: Zeus, name: str) -> tuple[ZeusShop, str]:
    base = open_shop(database, browser, name)
    shop = ZeusShop(org=base.org, accounts=base.accounts, clients=base.clients, database=base.database)
    shop.connect(zeus.portal_url, password="wrong")
    order = shop.dispatched()
    return shop, order["id"]


@pytest.mark.parametrize(("method", "path"), list(SHIPMENT_ROUTES), ids=[f"{m} {p}" for m, p in SHIPMENT_ROUTES])
def test_their_shipment_is_404_where_ours_is_found(
    database: Database, browser: Any, zeus: Zeus, method: str, path: str
) -> None:
    ours, our_order = _shop_with_a_failed_shipment(database, browser, zeus, "Tienda A")
    theirs, their_order = _shop_with_a_failed_shipment(database, browser, zeus, "Tienda B")
    zeus.drain()  # both need review, with a screenshot
    with database.connect("superuser") as conn:
        before = conn.execute("SELECT * FROM shipments WHERE order_id = %s", (their_order,)).fetchall()
        their_jobs = conn.execute("SELECT count(*) FROM jobs WHERE org_id = %s", (theirs.org,)).fetchone()

    accepted = ours["admin"].request(method, path.replace("{id}", our_order))
    assert accepted.status_code == SHIPMENT_ROUTES[(method, path)], accepted.text
    refused = ours["admin"].request(method, path.replace("{id}", their_order))
    nonexistent = ours["admin"].request(method, path.replace("{id}", str(uuid.uuid4())))
    assert refused.status_code == nonexistent.status_code == 404
    assert refused.json()["error"]["code"] == nonexistent.json()["error"]["code"] == "not_found"
    with database.connect("superuser") as conn:
        assert conn.execute("SELECT * FROM shipments WHERE order_id = %s", (their_order,)).fetchall() == before
        assert conn.execute("SELECT count(*) FROM jobs WHERE org_id = %s", (theirs.org,)).fetchone() == their_jobs
