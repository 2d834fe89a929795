"""Who sees what: SELLER their own orders (editable until confirmed), SUPERVISOR and ADMIN all,
LOGISTICS confirmed orders in a delivery view without prices or payment details."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.orders.conftest import Shop

# The delivery view, exactly: what delivering needs and nothing of prices, payment or identity.
DELIVERY_FIELDS = {
    "id",
    "code",
    "status",
    "delivery_outcome",
    "delivery_attempts",
    "customer",
    "address",
    "delivery_date",
    "delivery_slot",
    "items",
    "currency",
    "amount_to_collect_cents",
    "rider_id",
    "carrier",
    "status_reason",
    "shipment",  # the courier's tracking code and sync state: dispatch work
    "version",
    "created_at",
    "actions",
}
NEVER_FOR_LOGISTICS = {
    "subtotal_cents",
    "discount_cents",
    "shipping_cents",
    "total_cents",
    "payment_status",
    "unit_price_cents",
    "line_total_cents",
    "document_number",
    "document_type",
    "email",
    "external_ref",
    "notes",
    "seller_id",
}


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keys(value)}
    return set()


def _get(shop: Shop, who: str, order: dict[str, Any]) -> Any:
    return shop[who].get(f"/api/orders/{order['id']}")


def test_logistics_sees_an_order_only_once_it_is_confirmed(shop: Shop) -> None:
    order = shop.capture()
    assert _get(shop, "logistics", order).status_code == 404
    listed = shop["logistics"].get("/api/orders").json()["orders"]
    assert order["id"] not in {o["id"] for o in listed}

    confirmed = shop.step(order, "confirm")
    response = _get(shop, "logistics", confirmed)
    assert response.status_code == 200
    listed = shop["logistics"].get("/api/orders").json()["orders"]
    assert order["id"] in {o["id"] for o in listed}


def test_logistics_view_has_what_delivery_needs_and_no_payment_details(shop: Shop) -> None:
    order = shop.step(shop.capture(), "confirm")
    view = _get(shop, "logistics", order).json()
    assert set(view) == DELIVERY_FIELDS
    assert not _keys(view) & NEVER_FOR_LOGISTICS
    assert view["customer"] == {"name": "María Huamán Quispe", "phone": "+51987654321"}
    assert view["address"]["reference"] == "frente al parque Kennedy"
    assert view["items"] == [
        {"sku": "POLO-NEGRO-M", "name": "Polo negro M", "quantity": 2},
        {"sku": "GORRA-01", "name": "Gorra bordada", "quantity": 1},
    ]
    assert view["amount_to_collect_cents"] == 10980  # cash on delivery: the rider collects the total
    [summary] = [o for o in shop["logistics"].get("/api/orders").json()["orders"] if o["id"] == order["id"]]
    assert not set(summary) & NEVER_FOR_LOGISTICS
    assert summary["amount_to_collect_cents"] == 10980


def test_nothing_to_collect_when_the_order_is_not_cash_on_delivery(shop: Shop) -> None:
    order = shop.step(shop.capture(collect_on_delivery=False), "confirm")
    assert _get(shop, "logistics", order).json()["amount_to_collect_cents"] == 0


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_office_roles_see_every_order_in_full(shop: Shop, who: str) -> None:
    order = shop.capture()  # captured by the seller, still pending
    view = _get(shop, who, order).json()
    assert view["total_cents"] == 10980 and view["payment_status"] == "unpaid"
    assert view["customer"]["document_number"] == "45678912"
    assert view["items"][0]["unit_price_cents"] == 3990
    listed = {o["id"] for o in shop[who].get("/api/orders").json()["orders"]}
    assert order["id"] in listed


def test_a_seller_sees_their_own_orders_and_not_a_colleagues(shop: Shop) -> None:
    mine = shop.capture("seller")
    theirs = shop.capture("other_seller", items=[{"sku": "Z", "name": "Z", "quantity": 1, "unit_price_cents": 100}])
    assert _get(shop, "seller", mine).status_code == 200
    assert _get(shop, "seller", theirs).status_code == 404
    listed = {o["id"] for o in shop["seller"].get("/api/orders").json()["orders"]}
    assert mine["id"] in listed and theirs["id"] not in listed
    timeline = shop["seller"].get(f"/api/orders/{theirs['id']}/timeline")
    assert timeline.status_code == 404


def test_a_seller_edits_their_order_until_it_is_confirmed(shop: Shop) -> None:
    order = shop.capture()
    edited = shop["seller"].patch(
        f"/api/orders/{order['id']}", json={"notes": "Tocar el timbre"}, headers={"If-Match": '"1"'}
    )
    assert edited.status_code == 200 and edited.json()["notes"] == "Tocar el timbre"
    confirmed = shop.step(edited.json(), "confirm")
    refused = shop["seller"].patch(
        f"/api/orders/{order['id']}",
        json={"notes": "otra"},
        headers={"If-Match": f'"{confirmed["version"]}"'},
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "order_not_editable"
    assert shop.row(order["id"])["notes"] == "Tocar el timbre"
    # ...while a supervisor still may (nothing has left the warehouse).
    by_supervisor = shop["supervisor"].patch(
        f"/api/orders/{order['id']}",
        json={"notes": "otra"},
        headers={"If-Match": f'"{confirmed["version"]}"'},
    )
    assert by_supervisor.status_code == 200


def test_a_seller_cannot_edit_a_colleagues_order(shop: Shop) -> None:
    theirs = shop.capture("other_seller")
    response = shop["seller"].patch(f"/api/orders/{theirs['id']}", json={"notes": "x"}, headers={"If-Match": '"1"'})
    assert response.status_code == 404
    assert shop.row(theirs["id"])["notes"] == "Llamar antes de llegar"


def test_logistics_cannot_edit_and_sellers_cannot_assign_riders(shop: Shop) -> None:
    order = shop.step(shop.capture(), "confirm")
    version = {"If-Match": f'"{order["version"]}"'}
    by_logistics = shop["logistics"].patch(f"/api/orders/{order['id']}", json={"notes": "x"}, headers=version)
    assert by_logistics.status_code == 403
    pending = shop.capture(items=[{"sku": "Q", "name": "Q", "quantity": 1, "unit_price_cents": 100}])
    rider = str(shop.accounts["logistics"].id)
    by_seller = shop["seller"].patch(
        f"/api/orders/{pending['id']}", json={"rider_id": rider}, headers={"If-Match": '"1"'}
    )
    assert by_seller.status_code == 403
    assert shop.row(pending["id"])["rider_id"] is None
    by_admin = shop["admin"].patch(
        f"/api/orders/{pending['id']}", json={"rider_id": rider}, headers={"If-Match": '"1"'}
    )
    assert by_admin.status_code == 200 and by_admin.json()["rider_id"] == rider


def test_only_active_logistics_users_can_be_riders(shop: Shop) -> None:
    order = shop.capture()
    seller = str(shop.accounts["other_seller"].id)
    response = shop["admin"].patch(f"/api/orders/{order['id']}", json={"rider_id": seller}, headers={"If-Match": '"1"'})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "$.rider_id"
    assert shop.row(order["id"])["version"] == 1
