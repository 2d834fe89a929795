"""Payments: derived payment status, receipts used twice, who may do what, and the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.api.payments.conftest import TOTAL, PaymentShop

pytestmark = pytest.mark.usefixtures("database")


# --- the order's payment status is derived from verified payments ----------------------------------


def test_a_submitted_payment_pays_nothing_until_verified(shop: PaymentShop) -> None:
    order = shop.capture()
    payment = shop.paid(order, amount_cents=TOTAL)
    assert payment["review_status"] == "submitted"
    assert shop.order(order)["payment_status"] == "unpaid"
    shop.verified(payment)
    after = shop.order(order)
    assert (after["payment_status"], after["paid_cents"]) == ("paid", TOTAL)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([4000], "partially_paid"),
        ([4000, TOTAL - 4000], "paid"),
        ([TOTAL, 500], "overpaid"),
        ([TOTAL - 1], "partially_paid"),
    ],
)
def test_payment_status_across_partial_full_and_over(shop: PaymentShop, amounts: list[int], expected: str) -> None:
    order = shop.capture()
    for n, amount in enumerate(amounts):
        shop.verified(shop.paid(order, amount_cents=amount, operation_number=f"77{n}{amount}"))
    after = shop.order(order)
    assert after["payment_status"] == expected
    assert after["paid_cents"] == sum(amounts)
    listing = shop["seller"].get(f"/api/orders/{order['id']}/payments").json()
    assert (listing["payment_status"], listing["paid_cents"]) == (expected, sum(amounts))


def test_rejected_payments_never_count(shop: PaymentShop) -> None:
    order = shop.capture()
    payment = shop.paid(order)
    refused = shop.review(payment, "reject")
    assert refused.status_code == 422  # a rejection needs its reason
    assert shop.review(payment, "reject", reason="captura editada").status_code == 200
    assert shop.order(order)["payment_status"] == "unpaid"


def test_refunds_lead_to_refunded_and_only_the_office_records_them(shop: PaymentShop) -> None:
    order = shop.capture()
    shop.verified(shop.paid(order))
    refund = {"kind": "refund", "method": "bank_transfer", "operation_number": "R-991"}
    assert shop.pay(order, "seller", **refund).status_code == 403
    assert shop.order(order)["payment_status"] == "paid"
    created = shop.pay(order, "supervisor", amount_cents=TOTAL, **refund)
    assert created.status_code == 201, created.text
    assert created.json()["review_status"] == "verified"
    after = shop.order(order)
    assert (after["payment_status"], after["refunded_cents"]) == ("refunded", TOTAL)


def test_editing_the_order_total_rederives_the_status(shop: PaymentShop) -> None:
    order = shop.capture()
    shop.verified(shop.paid(order, amount_cents=TOTAL))
    current = shop.order(order)
    response = shop["supervisor"].patch(
        f"/api/orders/{order['id']}", json={"shipping_cents": 2000}, headers={"If-Match": f'"{current["version"]}"'}
    )
    assert response.status_code == 200, response.text
    assert response.json()["payment_status"] == "partially_paid"


def test_the_client_cannot_set_a_payment_status_anywhere(shop: PaymentShop) -> None:
    order = shop.capture()
    assert shop.pay(order, review_status="verified").status_code == 422
    assert shop.pay(order, payment_status="paid").status_code == 422
    current = shop.order(order)
    response = shop["admin"].patch(
        f"/api/orders/{order['id']}", json={"payment_status": "paid"}, headers={"If-Match": f'"{current["version"]}"'}
    )
    assert response.status_code == 422
    assert shop.order(order)["payment_status"] == "unpaid"


def test_the_app_role_cannot_write_derived_columns(shop: PaymentShop) -> None:
    """Even a bug in our SQL cannot mark an order paid: the column is not the app's to write."""
    order = shop.capture()
    with shop.database.connect("app") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, false)", (str(shop.org),))
        for column, value in (("payment_status", "'paid'"), ("paid_cents", "99999")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"UPDATE orders SET {column} = {value} WHERE id = %s", (order["id"],))
            conn.rollback()
            conn.execute("SELECT set_config('app.org_id', %s, false)", (str(shop.org),))
        # The same connection may update what it edits (the refusal above is about the column).
        conn.execute("UPDATE orders SET notes = 'ok' WHERE id = %s", (order["id"],))
        conn.commit()
    assert shop.row(order["id"])["payment_status"] == "unpaid"


def test_the_sums_match_the_payments_after_every_kind_of_change(shop: PaymentShop) -> None:
    order = shop.capture()
    first = shop.verified(shop.paid(order, amount_cents=5000, operation_number="5001"))
    shop.paid(order, amount_cents=3000, operation_number="5002")  # submitted: does not count
    edited = shop["supervisor"].patch(
        f"/api/payments/{first['id']}", json={"amount_cents": 6000}, headers={"If-Match": f'"{first["version"]}"'}
    )
    assert edited.status_code == 200, edited.text
    assert shop.order(order)["paid_cents"] == 6000
    deleted = shop["supervisor"].delete(
        f"/api/payments/{first['id']}", headers={"If-Match": f'"{edited.json()["version"]}"'}
    )
    assert deleted.status_code == 204
    with shop.database.connect("superuser") as conn:
        [mismatches] = conn.execute(
            """
            SELECT count(*) FROM orders o WHERE o.org_id = %s AND o.paid_cents <> COALESCE((
                SELECT sum(amount_cents) FROM payments p
                WHERE p.order_id = o.id AND p.review_status = 'verified' AND p.kind = 'payment'), 0)
            """,
            (shop.org,),
        ).fetchone()  # type: ignore[misc]
    assert mismatches == 0
    assert shop.order(order)["payment_status"] == "unpaid"


def test_currency_must_be_the_orders(shop: PaymentShop) -> None:
    order = shop.capture()
    response = shop.pay(order, currency="USD")
    assert response.status_code == 422
    assert shop.count("payments") == 0


# --- receipts used twice ---------------------------------------------------------------------------


def test_a_reused_operation_number_is_flagged_and_needs_an_override(shop: PaymentShop) -> None:
    first_order, second_order = shop.capture(), shop.capture()
    original = shop.paid(first_order, operation_number="00 1234-56")
    assert original["operation_number"] == "123456" and original["duplicate_of"] is None
    copy = shop.paid(second_order, operation_number="123456")
    assert copy["duplicate_of"] == original["id"]

    refused = shop.review(copy)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "duplicate_receipt"
    assert shop.order(second_order)["payment_status"] == "unpaid"

    accepted = shop.review(copy, override_reason="el banco confirmó dos abonos con el mismo número")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["override_reason"].startswith("el banco")
    [event] = shop.audit("payment.duplicate_overridden")
    assert event["after"]["same_operation_as"] == original["id"]


def test_the_first_use_is_also_checked_when_verified(shop: PaymentShop) -> None:
    first = shop.paid(shop.capture(), operation_number="888777")
    shop.paid(shop.capture(), operation_number="888777")
    assert shop.review(first).status_code == 409


def test_the_same_number_by_another_method_or_organization_is_not_a_duplicate(
    shop: PaymentShop, database: Any, browser: Any
) -> None:
    from tests.api.orders.conftest import open_shop

    shop.paid(shop.capture(), method="yape", operation_number="445566")
    other = shop.paid(shop.capture(), method="plin", operation_number="445566")
    assert other["duplicate_of"] is None
    elsewhere = open_shop(database, browser, "Otra Tienda")
    order = elsewhere.capture()
    response = elsewhere["seller"].post(
        f"/api/orders/{order['id']}/payments",
        json={"method": "yape", "amount_cents": 100, "paid_at": "2026-11-20T10:00:00Z", "operation_number": "445566"},
    )
    assert response.status_code == 201 and response.json()["duplicate_of"] is None


def test_an_override_without_a_duplicate_is_refused(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture(), operation_number="313131")
    assert shop.review(payment, override_reason="por si acaso").status_code == 422
    assert shop.review(payment).status_code == 200


def test_operation_numbers_are_required_for_transfers(shop: PaymentShop) -> None:
    order = shop.capture()
    for method in ("yape", "plin", "bank_transfer"):
        assert shop.pay(order, method=method, operation_number=None).status_code == 422
    assert shop.pay(order, method="card", operation_number=None).status_code == 201
    assert shop.pay(order, method="cash_on_delivery", operation_number=None).status_code == 422


# --- who may do what -------------------------------------------------------------------------------


def test_logistics_sees_no_payment_only_the_amount_to_collect(shop: PaymentShop) -> None:
    order = shop.capture()
    payment = shop.verified(shop.paid(order, amount_cents=4000))
    order = shop.step(shop.order(order), "confirm")
    for path in (
        f"/api/orders/{order['id']}/payments",
        f"/api/payments/{payment['id']}",
        f"/api/payments/{payment['id']}/proof",
    ):
        assert shop["logistics"].get(path).status_code == 403, path
    view = shop["logistics"].get(f"/api/orders/{order['id']}").json()
    assert view["amount_to_collect_cents"] == TOTAL - 4000
    assert not {"paid_cents", "refunded_cents", "payment_status", "total_cents"} & set(view)
    office = shop.order(order)
    assert office["amount_to_collect_cents"] == TOTAL - 4000 and office["paid_cents"] == 4000


def test_unverified_prepayments_do_not_reduce_the_amount_to_collect(shop: PaymentShop) -> None:
    order = shop.capture()
    shop.paid(order, amount_cents=4000)
    assert shop.order(order)["amount_to_collect_cents"] == TOTAL


def test_a_seller_sees_and_records_payments_only_on_its_own_orders(shop: PaymentShop) -> None:
    mine = shop.capture("seller")
    payment = shop.paid(mine)
    assert shop["other_seller"].get(f"/api/payments/{payment['id']}").status_code == 404
    assert shop["other_seller"].get(f"/api/orders/{mine['id']}/payments").status_code == 404
    assert shop.pay(mine, "other_seller").status_code == 404
    assert shop["seller"].get(f"/api/payments/{payment['id']}").status_code == 200


def test_only_the_office_reviews(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    assert shop.review(payment, who="seller").status_code == 403
    assert shop.review(payment, who="logistics").status_code == 403
    assert shop.review(payment, who="admin").status_code == 200


def test_edits_after_verification_need_the_office_and_are_audited_as_such(shop: PaymentShop) -> None:
    order = shop.capture()
    payment = shop.paid(order, amount_cents=5000)
    # Before review the seller may fix its own payment.
    fixed = shop["seller"].patch(
        f"/api/payments/{payment['id']}", json={"amount_cents": 5100}, headers={"If-Match": f'"{payment["version"]}"'}
    )
    assert fixed.status_code == 200, fixed.text
    verified = shop.verified(fixed.json())
    headers = {"If-Match": f'"{verified["version"]}"'}
    assert (
        shop["seller"].patch(f"/api/payments/{payment['id']}", json={"amount_cents": 1}, headers=headers).status_code
        == 403
    )
    assert shop["seller"].delete(f"/api/payments/{payment['id']}", headers=headers).status_code == 403
    assert shop.order(order)["paid_cents"] == 5100
    changed = shop["supervisor"].patch(f"/api/payments/{payment['id']}", json={"amount_cents": 5200}, headers=headers)
    assert changed.status_code == 200, changed.text
    [event] = shop.audit("payment.updated_after_review")
    assert (event["before"]["amount_cents"], event["after"]["amount_cents"]) == (5100, 5200)
    assert event["target_id"] == order["id"]
    assert shop.order(order)["paid_cents"] == 5200


def test_a_stale_version_changes_nothing(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture(), amount_cents=5000)
    stale = {"If-Match": f'"{payment["version"]}"'}
    assert (
        shop["seller"].patch(f"/api/payments/{payment['id']}", json={"amount_cents": 10}, headers=stale).status_code
        == 200
    )
    again = shop["seller"].patch(f"/api/payments/{payment['id']}", json={"amount_cents": 20}, headers=stale)
    assert again.status_code == 409
    assert shop.review(payment).status_code == 409
    assert shop["seller"].get(f"/api/payments/{payment['id']}").json()["amount_cents"] == 10


def test_every_change_is_on_the_orders_timeline_with_before_and_after(shop: PaymentShop) -> None:
    order = shop.capture()
    payment = shop.paid(order, amount_cents=5000)
    shop.review(payment, "reject", reason="monto no coincide")
    timeline = shop["supervisor"].get(f"/api/orders/{order['id']}/timeline").json()["events"]
    actions = [e["action"] for e in timeline]
    assert actions[-2:] == ["payment.created", "payment.rejected"]
    rejected = timeline[-1]
    assert rejected["before"]["review_status"] == "submitted"
    assert rejected["after"]["review_status"] == "rejected"
    assert rejected["after"]["reason"] == "monto no coincide"


def test_bad_payment_input_is_a_4xx_and_writes_nothing(shop: PaymentShop) -> None:
    order = shop.capture()
    url = f"/api/orders/{order['id']}/payments"
    client = shop["seller"]
    base = {"method": "yape", "amount_cents": 100, "paid_at": "2026-11-20T10:00:00Z", "operation_number": "1"}
    cases: list[tuple[Any, int]] = [
        ({**base, "amount_cents": -5}, 422),
        ({**base, "amount_cents": 0}, 422),
        ({**base, "amount_cents": 12.5}, 422),
        ({**base, "amount_cents": "100"}, 422),
        ({**base, "method": "bitcoin"}, 422),
        ({**base, "org_id": str(uuid.uuid4())}, 422),
        ({**base, "operation_number": "ab$%^&"}, 422),
        ({**base, "paid_at": "2999-01-01T00:00:00Z"}, 422),
    ]
    for body, status in cases:
        response = client.post(url, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"]
    assert client.post(url, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    assert shop.count("payments") == 0


def test_two_payments_with_one_receipt_recorded_at_once_still_see_each_other(shop: PaymentShop) -> None:
    """The second transaction starts while the first is uncommitted: without the advisory lock it
    could not see the first payment and neither would be flagged."""
    import threading
    from datetime import UTC, datetime

    from lib.db import tenant_transaction
    from lib.payments import service
    from lib.payments.schemas import PaymentIn
    from lib.tenancy import Actor, RequestMeta, Role, TenantContext

    first_order, second_order = shop.capture(), shop.capture()
    seller = TenantContext(shop.org, Actor(shop.accounts["seller"].id, Role.SELLER), RequestMeta("race", None, None))
    payment = PaymentIn(method="plin", amount_cents=500, paid_at=datetime.now(UTC), operation_number="424242")
    first_recorded, second_started = threading.Event(), threading.Event()
    ids: dict[str, Any] = {}

    def first() -> None:
        with tenant_transaction(seller) as tx:
            ids["first"] = service.create(tx, uuid.UUID(first_order["id"]), payment, datetime.now(UTC))
            first_recorded.set()
            second_started.wait(5)
            threading.Event().wait(0.3)  # the second is now waiting on the lock, or has run without it

    def second() -> None:
        first_recorded.wait(5)
        second_started.set()
        with tenant_transaction(seller) as tx:
            ids["second"] = service.create(tx, uuid.UUID(second_order["id"]), payment, datetime.now(UTC))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    flagged = shop["seller"].get(f"/api/payments/{ids['second']}").json()
    assert flagged["duplicate_of"] == str(ids["first"])
