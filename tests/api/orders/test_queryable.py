"""A role filters and searches orders only on what its view shows, in the list and the export alike.

LOGISTICS sees orders as DeliveryOrder: no payment status, channel, seller or document. Its
filters on those are refused (422 `filter_not_in_view`), and a search that only a document could
match finds nothing; its other filters and searches work. Every other role sees Order and may use
all of them. The expectations here are written out by hand, not read from lib.orders.queryable,
so a change there that widens a view's reach fails these tests.

Each case runs in a fresh shop holding three orders that every role but SELLER sees whole: A
(the seller's) and B (another seller's) differ in every filtered field, C (the seller's) has B's
values. An accepted filter must return exactly the orders it should among those the role sees,
and fewer than the role sees without it, so a filter that is ignored cannot pass.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from lib.orders.store import order_code
from tests.api.orders.conftest import Shop

NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 12:00 in Lima
ROLES = {"ADMIN": "admin", "SUPERVISOR": "supervisor", "SELLER": "seller", "LOGISTICS": "logistics"}
# What each role's view hides and so may not filter or search on: the promise, written out.
HIDDEN_FILTERS = {"LOGISTICS": {"payment_status", "channel", "seller_id"}}
HIDDEN_TERMS = {"LOGISTICS": {"document"}}


@dataclass(frozen=True)
class Seeded:
    who: str
    status: str
    paid: bool
    channel: str
    rider: bool
    carrier: str | None
    ubigeo: str
    created_at: datetime
    phone: str
    document: str
    name: str


ORDERS = {
    "a": Seeded("seller", "confirmed", False, "whatsapp", False, None, "150101", NOON - timedelta(days=3),
                "+51911111111", "11111111", "Ana Quispe"),
    "b": Seeded("other_seller", "dispatched", True, "instagram", True, "olva", "150140", NOON,
                "+51922222222", "22222222", "Bruno Díaz"),
    "c": Seeded("seller", "dispatched", True, "instagram", True, "olva", "150140", NOON - timedelta(hours=1),
                "+51933333333", "33333333", "Carla Núñez"),
}  # fmt: skip


def _lima_day(moment: datetime) -> date:
    return (moment - timedelta(hours=5)).date()


# Each filter: its query value in a shop, and which seeded orders it keeps.
FILTERS: dict[str, tuple[Callable[[Shop], str], Callable[[Seeded], bool]]] = {
    "status": (lambda shop: "dispatched", lambda o: o.status == "dispatched"),
    "payment_status": (lambda shop: "paid", lambda o: o.paid),
    "channel": (lambda shop: "instagram", lambda o: o.channel == "instagram"),
    "seller_id": (lambda shop: str(shop.accounts["other_seller"].id), lambda o: o.who == "other_seller"),
    "rider_id": (lambda shop: str(shop.accounts["logistics"].id), lambda o: o.rider),
    "carrier": (lambda shop: "olva", lambda o: o.carrier == "olva"),
    "ubigeo": (lambda shop: "150140", lambda o: o.ubigeo == "150140"),
    "created_from": (lambda shop: _lima_day(NOON).isoformat(), lambda o: _lima_day(o.created_at) >= _lima_day(NOON)),
    "created_to": (
        lambda shop: _lima_day(NOON - timedelta(days=3)).isoformat(),
        lambda o: _lima_day(o.created_at) <= _lima_day(NOON - timedelta(days=3)),
    ),
}
# Each kind of search term, as typed, for order C (which every role sees).
TERMS: dict[str, Callable[[Shop, dict[str, str]], str]] = {
    "code": lambda shop, ids: order_code(shop.row(ids["c"])["number"]),
    "phone": lambda shop, ids: "933 333 333",
    "document": lambda shop, ids: "33333333",
    "name": lambda shop, ids: "carla nunez",
}


def _seed(shop: Shop) -> dict[str, str]:
    ids = {}
    for key, order in ORDERS.items():
        order_id = shop.database.create_order(
            shop.org,
            shop.accounts[order.who],
            status=order.status,
            customer_name=order.name,
            phone=order.phone,
            ubigeo=order.ubigeo,
            channel=order.channel,
            rider_id=shop.accounts["logistics"].id if order.rider else None,
            created_at=order.created_at,
        )
        with shop.database.connect("owner") as conn:
            conn.execute("SELECT set_config('app.org_id', %s, true)", (str(shop.org),))
            conn.execute(
                "UPDATE orders SET carrier = %s, document_number = %s, paid_cents = CASE WHEN %s THEN total_cents "
                "ELSE 0 END WHERE id = %s",
                (order.carrier, order.document, order.paid, order_id),
            )
        ids[key] = str(order_id)
    assert shop.row(ids["b"])["payment_status"] == "paid" and shop.row(ids["a"])["payment_status"] == "unpaid"
    return ids


def _visible(role: str) -> set[str]:
    if role == "SELLER":
        return {key for key, order in ORDERS.items() if order.who == "seller"}
    return set(ORDERS)  # LOGISTICS too: none is pending or cancelled


def _found(shop: Shop, who: str, endpoint: str, query: dict[str, str], ids: dict[str, str]) -> set[str]:
    """Which seeded orders the list (or the export) gives `who` for this query."""
    if endpoint == "list":
        response = shop[who].get("/api/orders", params=query)
        assert response.status_code == 200, response.text
        found = {order["id"] for order in response.json()["orders"]}
        return {key for key, order_id in ids.items() if order_id in found}
    response = shop[who].get("/api/orders/export", params=query)
    assert response.status_code == 200, response.text
    codes = {row["code"] for row in csv.DictReader(io.StringIO(response.content.decode("utf-8")[1:]))}
    return {key for key, order_id in ids.items() if order_code(shop.row(order_id)["number"]) in codes}


def _exports(shop: Shop) -> int:
    return len(_audit(shop, "order.exported"))


def _audit(shop: Shop, action: str) -> list[Any]:
    with shop.database.connect("superuser") as conn:
        return conn.execute(
            "SELECT after FROM audit_events WHERE org_id = %s AND action = %s", (shop.org, action)
        ).fetchall()


ENDPOINTS = ["list", "export"]


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", list(ROLES))
def test_a_filter_is_served_when_the_view_shows_its_field_and_refused_when_not(
    shop: Shop, role: str, endpoint: str, name: str
) -> None:
    ids = _seed(shop)
    who = ROLES[role]
    value, keeps = FILTERS[name]
    query = {name: value(shop)}
    if endpoint == "export" and role == "SELLER":
        response = shop[who].get("/api/orders/export", params=query)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"  # no export at all
        return

    if name in HIDDEN_FILTERS.get(role, set()):
        path = "/api/orders" if endpoint == "list" else "/api/orders/export"
        refused = shop[who].get(path, params=query)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "filter_not_in_view" and error["message"]
        assert [detail["field"] for detail in error["details"]] == [f"$.{name}"]
        assert _exports(shop) == 0  # refused before the export was audited or started
        # Accepted under the same setup by a role whose view shows the field: the query itself is fine.
        assert _found(shop, "admin", endpoint, query, ids) == {k for k, o in ORDERS.items() if keeps(o)}
        # ...and the refused role is not refused everything: the same request without it is served.
        assert _found(shop, who, endpoint, {}, ids) == _visible(role)
        return

    visible = _visible(role)
    expected = {key for key in visible if keeps(ORDERS[key])}
    assert expected < visible  # the case can tell a filter that filters from one ignored
    assert _found(shop, who, endpoint, query, ids) == expected
    assert _found(shop, who, endpoint, {}, ids) == visible


@pytest.mark.parametrize("term", list(TERMS))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", list(ROLES))
def test_a_search_finds_only_through_fields_the_view_shows(shop: Shop, role: str, endpoint: str, term: str) -> None:
    ids = _seed(shop)
    who = ROLES[role]
    query = {"q": TERMS[term](shop, ids)}
    if endpoint == "export" and role == "SELLER":
        assert shop[who].get("/api/orders/export", params=query).status_code == 403
        return
    assert "c" in _visible(role)
    # The same term by a role whose view shows every field: it does find C, and only C.
    assert _found(shop, "admin", endpoint, query, ids) == {"c"}
    hidden = term in HIDDEN_TERMS.get(role, set())
    assert _found(shop, who, endpoint, query, ids) == (set() if hidden else {"c"})


def test_a_dni_finds_nothing_for_logistics_while_phones_codes_and_names_still_do(shop: Shop) -> None:
    """The digits of a DNI are not looked up as a document for LOGISTICS: neither another order's
    document nor part of one; a phone typed in digits is still a phone."""
    ids = _seed(shop)
    for dni in ("22222222", "11111111"):
        assert _found(shop, "logistics", "list", {"q": dni}, ids) == set()
        assert _found(shop, "admin", "list", {"q": dni}, ids) == {"b" if dni == "22222222" else "a"}
    assert _found(shop, "logistics", "list", {"q": "+51922222222"}, ids) == {"b"}
    assert _found(shop, "logistics", "list", {"q": "bruno"}, ids) == {"b"}


def test_several_hidden_filters_are_each_named(shop: Shop) -> None:
    _seed(shop)
    query = {"payment_status": "paid", "status": "dispatched", "channel": "whatsapp", "seller_id": str(uuid.uuid4())}
    refused = shop["logistics"].get("/api/orders", params=query)
    assert refused.status_code == 422
    fields = [detail["field"] for detail in refused.json()["error"]["details"]]
    assert sorted(fields) == ["$.channel", "$.payment_status", "$.seller_id"]
    english = shop["logistics"].get("/api/orders", params=query, headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"].startswith("You can only filter on what your role sees")
