"""Cash on delivery: collections, settlements (expected vs collected vs handed over), the rider report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.payments.conftest import TOTAL, PaymentShop
from tests.conftest import sign_in

pytestmark = pytest.mark.usefixtures("database")


def _open(shop: PaymentShop, rider: str = "logistics") -> Any:
    return shop["supervisor"].post("/api/settlements", json={"rider_id": str(shop.accounts[rider].id)})


def _close(shop: PaymentShop, settlement: dict[str, Any], handed_over: int, **extra: Any) -> Any:
    return shop["supervisor"].post(
        f"/api/settlements/{settlement['id']}/close",
        json={"handed_over_cents": handed_over, **extra},
        headers={"If-Match": f'"{settlement["version"]}"'},
    )


def test_delivery_alone_pays_nothing_and_closing_the_settlement_verifies_the_cash(shop: PaymentShop) -> None:
    order = shop.delivered()
    assert shop.order(order)["payment_status"] == "unpaid"
    collected = shop.collect(order)
    assert collected.status_code == 201, collected.text
    assert set(collected.json()) == {
        "id",
        "order_id",
        "amount_cents",
        "currency",
        "method",
        "operation_number",
        "collected_at",
        "version",
    }
    assert shop.order(order)["payment_status"] == "unpaid"  # said collected is not counted cash

    opened = _open(shop)
    assert opened.status_code == 201, opened.text
    settlement = opened.json()
    assert (settlement["expected_cents"], settlement["collected_cash_cents"]) == (TOTAL, TOTAL)
    assert settlement["status"] == "open" and settlement["flagged"] is False

    closed = _close(shop, settlement, TOTAL)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["shortfall_cents"] == 0
    assert shop.order(order)["payment_status"] == "paid"
    [event] = shop.audit("settlement.closed")
    assert event["after"]["handed_over_cents"] == TOTAL


def test_settlement_arithmetic_flags_shortfalls_and_gaps(shop: PaymentShop) -> None:
    a, b, c = shop.delivered(), shop.delivered(), shop.delivered()
    assert shop.collect(a).status_code == 201  # all of it, in cash
    assert shop.collect(b, amount_cents=6000).status_code == 201  # part in cash...
    assert shop.collect(b, amount_cents=TOTAL - 6000, method="yape", operation_number="99001").status_code == 201
    assert shop.collect(c, amount_cents=TOTAL - 1000).status_code == 201  # 10 soles short
    settlement = _open(shop).json()
    assert settlement["expected_cents"] == 3 * TOTAL
    cash = TOTAL + 6000 + (TOTAL - 1000)
    digital = TOTAL - 6000
    assert (settlement["collected_cash_cents"], settlement["collected_digital_cents"]) == (cash, digital)
    assert settlement["collection_gap_cents"] == 1000 and settlement["flagged"] is True

    handed = cash - 500  # and 5 soles of the cash did not reach the office
    refused = _close(shop, settlement, handed)
    assert refused.status_code == 422  # flagged: a reason is required
    assert shop.order(a)["payment_status"] == "unpaid"
    closed = _close(shop, settlement, handed, reason="cliente pagó menos; faltan 5 soles del repartidor")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["shortfall_cents"], body["collection_gap_cents"], body["handed_over_cents"]) == (500, 1000, handed)
    assert [shop.order(o)["payment_status"] for o in (a, b, c)] == ["paid", "paid", "partially_paid"]


def test_a_closed_settlement_fixes_its_collections(shop: PaymentShop) -> None:
    order = shop.delivered()
    shop.collect(order)
    settlement = _open(shop).json()
    closed = _close(shop, settlement, TOTAL).json()
    [collection] = closed["collections"]
    payment = shop["supervisor"].get(f"/api/payments/{collection['id']}").json()
    headers = {"If-Match": f'"{payment["version"]}"'}
    response = shop["supervisor"].patch(f"/api/payments/{collection['id']}", json={"amount_cents": 1}, headers=headers)
    assert response.status_code == 409
    assert _close(shop, closed, TOTAL).status_code == 409


def test_a_collection_recorded_while_open_joins_and_stales_the_close(shop: PaymentShop) -> None:
    first = shop.delivered()
    shop.collect(first)
    settlement = _open(shop).json()
    second = shop.delivered()
    assert shop.collect(second).status_code == 201
    assert _close(shop, settlement, TOTAL).status_code == 409  # prepared before the second arrived
    fresh = shop["supervisor"].get(f"/api/settlements/{settlement['id']}").json()
    assert fresh["expected_cents"] == 2 * TOTAL and len(fresh["collections"]) == 2
    assert _close(shop, fresh, 2 * TOTAL).status_code == 200


def test_collections_are_the_riders_and_only_for_delivered_cash_orders(shop: PaymentShop, browser: Any) -> None:
    delivered = shop.delivered()
    assert shop.collect(delivered, who="seller").status_code == 403
    shop.accounts["rider2"] = shop.database.create_user(shop.org, "LOGISTICS", full_name="Rider Dos")
    shop.clients["rider2"] = browser()
    sign_in(shop.clients["rider2"], shop.accounts["rider2"])
    assert shop.collect(delivered, who="rider2").status_code == 403
    pending = shop.step(shop.step(shop.capture(), "confirm"), "prepare")
    assert shop.collect(pending).status_code == 403  # not (yet) this rider's delivery
    assert shop.collect(pending, who="supervisor").status_code == 409  # not delivered
    prepaid = shop.delivered(collect_on_delivery=False)
    assert shop.collect(prepaid).status_code == 409
    assert shop.count("payments") == 0
    assert shop.collect(delivered).status_code == 201


def test_direct_review_of_a_collection_is_refused(shop: PaymentShop) -> None:
    order = shop.delivered()
    collection = shop.collect(order).json()
    payment = shop["supervisor"].get(f"/api/payments/{collection['id']}").json()
    response = shop.review(payment)
    assert response.status_code == 409 and response.json()["error"]["code"] == "collection_settles"


def test_one_open_settlement_per_rider(shop: PaymentShop) -> None:
    assert _open(shop).status_code == 201
    assert _open(shop).status_code == 409
    assert _open(shop, "seller").status_code == 422  # not a rider
    assert (
        shop["logistics"].post("/api/settlements", json={"rider_id": str(shop.accounts["logistics"].id)}).status_code
        == 403
    )


def test_rider_report_per_day(shop: PaymentShop) -> None:
    a, b = shop.delivered(), shop.delivered()
    shop.collect(a)
    shop.collect(b, amount_cents=5000)
    settlement = _open(shop).json()
    _close(shop, settlement, TOTAL + 5000, reason="el cliente de b pagó a medias")
    shop.delivered()  # delivered, nothing recorded yet
    today = (datetime.now(UTC) - timedelta(hours=5)).date()
    report = shop["supervisor"].get(f"/api/reports/riders?day={today.isoformat()}")
    assert report.status_code == 200, report.text
    [rider] = report.json()["riders"]
    assert rider["rider_id"] == str(shop.accounts["logistics"].id)
    assert rider["orders_delivered"] == 3
    assert rider["to_collect_cents"] == 3 * TOTAL
    assert rider["collected_cents"] == TOTAL + 5000
    assert rider["handed_over_cents"] == TOTAL + 5000
    assert rider["pending_cents"] == 0
    yesterday = shop["supervisor"].get(f"/api/reports/riders?day={(today - timedelta(days=1)).isoformat()}")
    assert yesterday.json()["riders"] == []
    assert shop["logistics"].get(f"/api/reports/riders?day={today.isoformat()}").status_code == 403
    assert shop["seller"].get(f"/api/reports/riders?day={today.isoformat()}").status_code == 403


def test_an_office_edit_of_a_collection_stales_the_close(shop: PaymentShop) -> None:
    order = shop.delivered()
    collection = shop.collect(order).json()
    settlement = _open(shop).json()
    payment = shop["supervisor"].get(f"/api/payments/{collection['id']}").json()
    fixed = shop["supervisor"].patch(
        f"/api/payments/{collection['id']}",
        json={"amount_cents": TOTAL - 100},
        headers={"If-Match": f'"{payment["version"]}"'},
    )
    assert fixed.status_code == 200, fixed.text
    assert _close(shop, settlement, TOTAL).status_code == 409  # figures changed since it was read
    fresh = shop["supervisor"].get(f"/api/settlements/{settlement['id']}").json()
    assert fresh["collected_cash_cents"] == TOTAL - 100
    assert _close(shop, fresh, TOTAL - 100, reason="faltó 1 sol del cliente").status_code == 200
