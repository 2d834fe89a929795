"""Capturing an order: normalised, priced by the server, flagged when it looks doubled; bad input
gets a 4xx that says what is wrong, and nothing is written."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.orders.conftest import Shop
from tests.order_samples import VALID_RUC, order_payload


def test_a_capture_is_normalised_and_priced_on_the_server(shop: Shop) -> None:
    order = shop.capture()
    assert order["code"].startswith("PED-") and order["status"] == "pending" and order["version"] == 1
    assert order["customer"]["phone"] == "+51987654321"
    assert order["customer"]["name"] == "María Huamán Quispe"
    assert order["customer"]["email"] == "maria.huaman@example.pe"
    # 2 x 39.90 + 25.00 = 104.80; - 5.00 discount + 10.00 shipping = 109.80
    assert (order["subtotal_cents"], order["total_cents"], order["amount_to_collect_cents"]) == (10480, 10980, 10980)
    assert [item["line_total_cents"] for item in order["items"]] == [7980, 2500]
    assert order["seller_id"] == str(shop.accounts["seller"].id)
    assert order["payment_status"] == "unpaid" and order["delivery_outcome"] is None
    row = shop.row(order["id"])
    assert (row["subtotal_cents"], row["total_cents"], row["org_id"]) == (10480, 10980, shop.org)


def test_order_codes_are_consecutive_per_organization(shop: Shop) -> None:
    first, second = (
        shop.capture(),
        shop.capture(items=[{"sku": "X", "name": "Otro", "quantity": 1, "unit_price_cents": 1}]),
    )
    assert int(second["code"][4:]) == int(first["code"][4:]) + 1


@pytest.mark.parametrize(
    ("document_type", "number", "stored"),
    [("DNI", "4567 8912", "45678912"), ("RUC", VALID_RUC, VALID_RUC), ("FOREIGN", "ce-001234567", "CE001234567")],
)
def test_each_document_kind_is_accepted(shop: Shop, document_type: str, number: str, stored: str) -> None:
    customer = {**order_payload()["customer"], "document_type": document_type, "document_number": number}
    order = shop.capture(customer=customer)
    assert (order["customer"]["document_type"], order["customer"]["document_number"]) == (document_type, stored)


def test_a_returning_customer_is_found_again_by_phone_or_document(shop: Shop) -> None:
    shop.capture()
    for lookup in ({"phone": "+51 987-654-321"}, {"document_type": "DNI", "document_number": "45678912"}):
        response = shop["seller"].post("/api/customers/lookup", json=lookup)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "María Huamán Quispe"
    missing = shop["seller"].post("/api/customers/lookup", json={"phone": "912345678"})
    assert missing.status_code == 404


def test_every_customer_lookup_is_audited_with_who_and_whom_never_what_was_typed(shop: Shop) -> None:
    order = shop.capture()
    customer_id = order["customer"]["id"]
    assert shop["seller"].post("/api/customers/lookup", json={"phone": "987654321"}).status_code == 200
    assert shop["seller"].post("/api/customers/lookup", json={"phone": "912345678"}).status_code == 404
    assert shop["seller"].post("/api/customers/lookup", json={"phone": "12"}).status_code == 422  # refused: no event
    with shop.database.connect("superuser") as conn:
        events = conn.execute(
            "SELECT actor_user_id, target_type, target_id, after FROM audit_events "
            "WHERE org_id = %s AND action = 'customer.looked_up' ORDER BY seq",
            (shop.org,),
        ).fetchall()
    seller = shop.accounts["seller"].id
    assert events == [
        (seller, "customer", customer_id, {"by": ["phone"], "found": True}),
        (seller, "customer", None, {"by": ["phone"], "found": False}),
    ]
    assert "987654321" not in str(events) and "912345678" not in str(events)


def test_same_phone_and_a_shared_item_within_a_day_is_flagged_not_refused(shop: Shop) -> None:
    first = shop.capture()
    again = shop.capture(items=[{"sku": "GORRA-01", "name": "Gorra bordada", "quantity": 3, "unit_price_cents": 2500}])
    assert again["duplicate_of"] == {"id": first["id"], "code": first["code"]}
    different_items = shop.capture(items=[{"sku": "MEDIAS", "name": "Medias", "quantity": 1, "unit_price_cents": 900}])
    assert different_items["duplicate_of"] is None
    other_phone = shop.capture(customer={**order_payload()["customer"], "phone": "912345678"})
    assert other_phone["duplicate_of"] is None


def test_an_external_reference_is_unique_per_organization(shop: Shop, database: Any, browser: Any) -> None:
    shop.capture(external_ref="SHOPIFY-1001")
    again = shop["seller"].post("/api/orders", json=order_payload(external_ref="SHOPIFY-1001"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_external_ref"
    from tests.api.orders.conftest import open_shop

    elsewhere = open_shop(database, browser, "Otra Tienda")
    assert elsewhere.capture(external_ref="SHOPIFY-1001")["external_ref"] == "SHOPIFY-1001"


def _with(path: str, value: Any) -> dict[str, Any]:
    payload = order_payload()
    *parents, last = path.split(".")
    node: Any = payload
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value
    return payload


BAD = {
    "malformed phone": (_with("customer.phone", "12"), 422, "$.customer.phone"),
    "phone that is no number": (_with("customer.phone", "999 999 999 999"), 422, "$.customer.phone"),
    "DNI with 7 digits": (_with("customer.document_number", "1234567"), 422, "$.customer.document_number"),
    "RUC with a wrong check digit": (
        _with("customer.document_number", VALID_RUC[:-1] + "1"),
        422,
        "$.customer.document_number",
    ),
    "ubigeo with letters": (_with("address.ubigeo", "15A122"), 422, "$.address.ubigeo"),
    "ubigeo of no department": (_with("address.ubigeo", "990101"), 422, "$.address.ubigeo"),
    "negative quantity": (_with("items.0.quantity", -1), 422, "$.items[0].quantity"),
    "zero quantity": (_with("items.0.quantity", 0), 422, "$.items[0].quantity"),
    "negative price": (_with("items.0.unit_price_cents", -100), 422, "$.items[0].unit_price_cents"),
    "price as a float": (_with("items.0.unit_price_cents", 39.9), 422, "$.items[0].unit_price_cents"),
    "no items": (_with("items", []), 422, "$.items"),
    "discount larger than the order": (_with("discount_cents", 10_000_000), 422, "$.discount_cents"),
    "unknown channel": (_with("channel", "telegram"), 422, "$.channel"),
    "unknown currency": (_with("currency", "EUR"), 422, "$.currency"),
    "client-sent total": ({**order_payload(), "total_cents": 1}, 422, "$"),
    "client-sent subtotal": ({**order_payload(), "subtotal_cents": 1}, 422, "$"),
    "client-sent org_id": ({**order_payload(), "org_id": "00000000-0000-0000-0000-000000000000"}, 422, "$"),
    "client-sent seller": ({**order_payload(), "seller_id": "00000000-0000-0000-0000-000000000000"}, 422, "$"),
    "client-sent status": ({**order_payload(), "status": "delivered"}, 422, "$"),
    "unknown nested field": (_with("customer.vip", True), 422, "$.customer"),
    "NUL in a name": (_with("customer.name", "Ana\x00"), 422, "$.customer.name"),
    # Found by the hypothesis test below: blank text passed min_length and hit a CHECK (500).
    "address line of spaces": (_with("address.line", "   "), 422, "$.address.line"),
    "district of a tab": (_with("address.district", "\t"), 422, "$.address.district"),
    "item name of spaces": (_with("items.0.name", "  "), 422, "$.items[0].name"),
    "latitude without longitude": (_with("address.longitude", None), 422, "$.address.latitude"),
    "slot that is no time range": (_with("delivery_slot", "mañana"), 422, "$.delivery_slot"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_refused_with_where_and_nothing_is_written(shop: Shop, case: str) -> None:
    payload, status, field = BAD[case]
    before = (shop.count("orders"), shop.count("customers"), shop.count("audit_events"))
    response = shop["seller"].post("/api/orders", json=payload, headers={"Accept-Language": "en"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and error["message"] == "The data sent is not valid."
    assert any(detail["field"].startswith(field) for detail in error["details"]), error
    assert (shop.count("orders"), shop.count("customers"), shop.count("audit_events")) == before


def test_every_problem_is_reported_at_once_in_spanish_by_default(shop: Shop) -> None:
    payload = _with("customer.phone", "123456")  # the right shape, but no such number
    payload["address"]["ubigeo"] = "000000"
    response = shop["seller"].post("/api/orders", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "Los datos enviados no son válidos."
    assert {detail["field"] for detail in error["details"]} == {"$.customer.phone", "$.address.ubigeo"}


def test_malformed_json_wrong_media_type_and_oversized_bodies_are_4xx(shop: Shop) -> None:
    client = shop["seller"]
    before = shop.count()
    broken = client.post("/api/orders", content=b'{"customer": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    form = client.post("/api/orders", content=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    huge = order_payload(notes="x" * 1_100_000)
    too_big = client.post("/api/orders", json=huge)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    latin1 = client.post(
        "/api/orders",
        content=str(order_payload()).encode("latin-1", "replace"),
        headers={"Content-Type": "application/json"},
    )
    assert latin1.status_code == 400
    assert shop.count() == before


# --- property: whatever the payload, never a 500, and a refusal writes nothing -------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    paths = [
        "customer.name",
        "customer.phone",
        "customer.document_type",
        "customer.document_number",
        "customer.email",
        "address.ubigeo",
        "address.latitude",
        "address.line",
        "items.0.quantity",
        "items.0.unit_price_cents",
        "items.0.sku",
        "discount_cents",
        "shipping_cents",
        "channel",
        "currency",
        "delivery_date",
        "delivery_slot",
        "external_ref",
        "notes",
    ]
    return st.dictionaries(st.sampled_from(paths), _scalars, min_size=1, max_size=4)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=_mutations(), extra=st.dictionaries(st.text(min_size=1, max_size=12), _scalars, max_size=2))
def test_random_payloads_never_cause_a_500(shop: Shop, changes: dict[str, Any], extra: dict[str, Any]) -> None:
    payload = copy.deepcopy(order_payload())
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = payload
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value
    payload.update(extra)
    before = shop.count()
    response = shop["seller"].post("/api/orders", json=payload)
    assert response.status_code in (201, 409, 413, 422), response.text
    if response.status_code != 201:
        assert response.json()["error"]["code"] and shop.count() == before
