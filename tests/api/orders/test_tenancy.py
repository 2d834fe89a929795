"""Another organization's order is not found, on every order route, and stays as it was.

The same request that reaches our own order (the accepted case) is answered 404 for theirs (the
refused case), with the same body as an order that does not exist. Lists, searches, exports and
imports never show or touch the other organization's rows either.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scripts.openapi import declared_functions
from tests.api.orders.conftest import Shop, open_shop
from tests.api.payments.test_tenancy import PAYMENT_ROUTES
from tests.conftest import ROOT, Database
from tests.order_samples import csv_file, csv_row

ORDER_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/orders/{id}"): {},
    ("PATCH", "/api/orders/{id}"): {"json": {"notes": "intruso"}, "headers": {"If-Match": '"1"'}},
    ("POST", "/api/orders/{id}/transitions"): {
        "json": {"action": "cancel", "reason": "intruso"},
        "headers": {"If-Match": '"1"'},
    },
    ("GET", "/api/orders/{id}/timeline"): {},
}


def test_every_route_with_an_order_id_is_covered_here() -> None:
    with_id = {
        (op.method, path) for _, path, operations in declared_functions(ROOT) for op in operations if "{id}" in path
    }
    order_routes = {(method, path) for method, path in with_id if path.startswith("/api/orders/")}
    # An order's payments and collections are covered with the payment routes, its Zeus shipment
    # in tests/api/zeus/test_tenancy.py.
    from tests.api.zeus.test_tenancy import SHIPMENT_ROUTES

    assert order_routes - set(PAYMENT_ROUTES) - set(SHIPMENT_ROUTES) == set(ORDER_ROUTES)


@pytest.fixture
def two_shops(database: Database, browser: Any) -> tuple[Shop, Shop]:
    return open_shop(database, browser, "Tienda A"), open_shop(database, browser, "Tienda B")


@pytest.mark.parametrize(("method", "path"), list(ORDER_ROUTES), ids=[f"{m} {p}" for m, p in ORDER_ROUTES])
def test_their_order_is_404_where_ours_is_found(two_shops: tuple[Shop, Shop], method: str, path: str) -> None:
    ours, theirs = two_shops
    our_order = ours.capture("seller")
    their_order = theirs.capture("seller")
    their_row = theirs.row(their_order["id"])
    request = ORDER_ROUTES[(method, path)]

    accepted = ours["admin"].request(method, path.replace("{id}", our_order["id"]), **request)
    assert accepted.status_code == 200, accepted.text

    refused = ours["admin"].request(method, path.replace("{id}", their_order["id"]), **request)
    nonexistent = ours["admin"].request(method, path.replace("{id}", str(uuid.uuid4())), **request)
    assert refused.status_code == nonexistent.status_code == 404
    assert refused.json()["error"]["code"] == nonexistent.json()["error"]["code"] == "not_found"
    assert theirs.row(their_order["id"]) == their_row


def test_lists_searches_and_exports_show_only_our_orders(two_shops: tuple[Shop, Shop]) -> None:
    ours, theirs = two_shops
    mine = ours.capture("seller")
    other = theirs.capture("seller")  # same customer, and the same code: numbering is per shop
    assert mine["code"] == other["code"]
    for query in (
        "",
        "?q=987654321",
        "?q=Huaman",
        "?q=maria%20quispe",
        f"?q={other['code']}",
        "?status=pending",
        "?q=45678912",
    ):
        listed = {o["id"] for o in ours["admin"].get(f"/api/orders{query}").json()["orders"]}
        assert mine["id"] in listed and other["id"] not in listed, query
    exported = ours["admin"].get("/api/orders/export").text
    assert mine["code"] in exported and exported.count("\r\n") == 2  # header and our one order


def test_a_customer_lookup_never_finds_another_organizations_customer(two_shops: tuple[Shop, Shop]) -> None:
    ours, theirs = two_shops
    theirs.capture("seller")
    response = ours["seller"].post("/api/customers/lookup", json={"phone": "987654321"})
    assert response.status_code == 404


def test_an_import_skips_only_our_own_references(two_shops: tuple[Shop, Shop]) -> None:
    ours, theirs = two_shops
    theirs.capture("admin", external_ref="WEB-77")
    response = ours["admin"].post(
        "/api/orders/imports", content=csv_file([csv_row("WEB-77")]), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["skipped"]) == (1, [])
    assert theirs.count() == 1 and ours.count() == 1
