"""Another organization's payments, proofs, settlements and customers are not found, on every route.

Each route is called twice from the same signed-in ADMIN with the same request: on our own
record (accepted, with the route's usual status) and on the other organization's (404, the same
answer as for an id that does not exist), and the other organization's rows stay as they were.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scripts.openapi import declared_functions
from tests.api.orders.conftest import open_shop
from tests.api.payments.conftest import TOTAL, PaymentShop
from tests.conftest import ROOT, Database
from tests.proof_samples import jpeg_bytes

# (method, path) -> (the record the {id} names, request options, status of the accepted case)
PAYMENT_ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], int]] = {
    ("GET", "/api/orders/{id}/payments"): ("order", {}, 200),
    ("POST", "/api/orders/{id}/payments"): (
        "order",
        {"json": {"method": "card", "amount_cents": 100, "paid_at": "2026-11-20T10:00:00Z"}},
        201,
    ),
    ("POST", "/api/orders/{id}/cash_collections"): ("delivered", {"json": {"amount_cents": TOTAL}}, 201),
    ("GET", "/api/payments/{id}"): ("payment", {}, 200),
    ("PATCH", "/api/payments/{id}"): ("payment", {"json": {"notes": "x"}, "headers": {"If-Match": '"2"'}}, 200),
    ("DELETE", "/api/payments/{id}"): ("payment", {"headers": {"If-Match": '"2"'}}, 204),
    ("POST", "/api/payments/{id}/review"): (
        "payment",
        {"json": {"decision": "reject", "reason": "no coincide"}, "headers": {"If-Match": '"2"'}},
        200,
    ),
    ("GET", "/api/payments/{id}/proof"): ("payment", {}, 200),
    ("PUT", "/api/payments/{id}/proof"): ("payment", {"proof": True, "headers": {"If-Match": '"2"'}}, 200),
    ("GET", "/api/settlements/{id}"): ("settlement", {}, 200),
    ("POST", "/api/settlements/{id}/close"): (
        "settlement",
        {"json": {"handed_over_cents": 2 * TOTAL}, "headers": {"If-Match": '"2"'}},
        200,
    ),
    ("POST", "/api/customers/{id}/anonymise"): ("customer", {}, 200),
}


def test_every_route_with_an_id_is_covered_somewhere() -> None:
    from tests.api.orders.test_tenancy import ORDER_ROUTES
    from tests.api.zeus.test_tenancy import SHIPMENT_ROUTES

    with_id = {(op.method, path) for _, path, ops in declared_functions(ROOT) for op in ops if "{id}" in path}
    users = {(m, p) for m, p in with_id if p.startswith("/api/users/")}  # tests/api/test_users.py, test_invitations.py
    jobs = {(m, p) for m, p in with_id if p.startswith("/api/jobs/")}  # tests/api/test_jobs.py
    assert with_id - users - jobs == set(PAYMENT_ROUTES) | set(ORDER_ROUTES) | set(SHIPMENT_ROUTES)


def _records(shop: PaymentShop) -> dict[str, str]:
    """One of each kind of record, each at the version the requests above expect."""
    order = shop.capture("seller")
    payment = shop.paid(order, operation_number=str(uuid.uuid4().int)[:12])
    upload = shop.upload(payment, jpeg_bytes())
    assert upload.status_code == 200, upload.text  # the payment is now at version 2
    delivered = shop.delivered()
    assert shop.collect(delivered).status_code == 201
    opened = shop["supervisor"].post("/api/settlements", json={"rider_id": str(shop.accounts["logistics"].id)})
    assert opened.status_code == 201, opened.text
    assert opened.json()["version"] == 1
    # Bring the settlement to version 2, like the others: one more collection joins it.
    second = shop.delivered()
    assert shop.collect(second).status_code == 201
    return {
        "order": order["id"],
        "delivered": shop.delivered()["id"],
        "payment": payment["id"],
        "settlement": opened.json()["id"],
        "customer": shop.order(order)["customer"]["id"],
    }


def _snapshot(shop: PaymentShop) -> dict[str, Any]:
    with shop.database.connect("superuser") as conn:
        tables = ("orders", "payments", "settlements", "settlement_orders", "customers")
        return {
            table: sorted(map(repr, conn.execute(f"SELECT * FROM {table} WHERE org_id = %s", (shop.org,)).fetchall()))
            for table in tables
        }


def _call(shop: PaymentShop, method: str, path: str, options: dict[str, Any]) -> Any:
    options = dict(options)
    if options.pop("proof", False):
        options["files"] = {"file": ("yape.jpg", jpeg_bytes(), "image/jpeg")}
    return shop["admin"].request(method, path, **options)


@pytest.mark.parametrize(("method", "path"), list(PAYMENT_ROUTES), ids=[f"{m} {p}" for m, p in PAYMENT_ROUTES])
def test_theirs_is_404_where_ours_is_found(database: Database, browser: Any, method: str, path: str) -> None:
    def shop_named(name: str) -> PaymentShop:
        base = open_shop(database, browser, name)
        return PaymentShop(org=base.org, accounts=base.accounts, clients=base.clients, database=base.database)

    ours, theirs = shop_named("Tienda A"), shop_named("Tienda B")
    kind, options, status = PAYMENT_ROUTES[(method, path)]
    our_ids, their_ids = _records(ours), _records(theirs)
    before = _snapshot(theirs)

    refused = _call(ours, method, path.replace("{id}", their_ids[kind]), options)
    nonexistent = _call(ours, method, path.replace("{id}", str(uuid.uuid4())), options)
    assert refused.status_code == nonexistent.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == nonexistent.json()["error"]["code"] == "not_found"
    assert _snapshot(theirs) == before

    accepted = _call(ours, method, path.replace("{id}", our_ids[kind]), options)
    assert accepted.status_code == status, accepted.text


def test_lists_and_reports_show_only_our_records(database: Database, browser: Any) -> None:
    base_a, base_b = open_shop(database, browser, "Tienda A"), open_shop(database, browser, "Tienda B")
    ours = PaymentShop(org=base_a.org, accounts=base_a.accounts, clients=base_a.clients, database=database)
    theirs = PaymentShop(org=base_b.org, accounts=base_b.accounts, clients=base_b.clients, database=database)
    their_ids = _records(theirs)
    settlements = ours["admin"].get("/api/settlements").json()["settlements"]
    assert settlements == []
    rider = ours["admin"].get(f"/api/settlements?rider_id={theirs.accounts['logistics'].id}").json()
    assert rider["settlements"] == []
    from datetime import UTC, datetime, timedelta

    today = (datetime.now(UTC) - timedelta(hours=5)).date().isoformat()
    assert ours["admin"].get(f"/api/reports/riders?day={today}").json()["riders"] == []
    assert theirs["admin"].get(f"/api/reports/riders?day={today}").json()["riders"] != []
    # Opening a settlement for their rider: not one of our riders.
    response = ours["admin"].post("/api/settlements", json={"rider_id": str(theirs.accounts["logistics"].id)})
    assert response.status_code == 422
    assert their_ids["settlement"]
