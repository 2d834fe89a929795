"""A shop (tests/api/orders) with payments: helpers to record, review, collect and settle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.api.orders.conftest import Shop, open_shop
from tests.conftest import Database

TOTAL = 10980  # tests.order_samples.order_payload's total: 2 x 39.90 + 25.00 - 5.00 + 10.00


class PaymentShop(Shop):
    def pay(self, order: dict[str, Any], who: str = "seller", **fields: Any) -> Any:
        """POST a payment; returns the response (not asserted: refusals are tested too)."""
        body = {
            "method": "yape",
            "amount_cents": TOTAL,
            "paid_at": "2026-11-20T15:04:00Z",
            "operation_number": "123456",
        }
        body.update(fields)
        return self.clients[who].post(f"/api/orders/{order['id']}/payments", json=body)

    def paid(self, order: dict[str, Any], who: str = "seller", **fields: Any) -> dict[str, Any]:
        response = self.pay(order, who, **fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def review(self, payment: dict[str, Any], decision: str = "verify", who: str = "supervisor", **extra: Any) -> Any:
        return self.clients[who].post(
            f"/api/payments/{payment['id']}/review",
            json={"decision": decision, **extra},
            headers={"If-Match": f'"{payment["version"]}"'},
        )

    def verified(self, payment: dict[str, Any], **extra: Any) -> dict[str, Any]:
        response = self.review(payment, **extra)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def order(self, order: dict[str, Any], who: str = "admin") -> dict[str, Any]:
        response = self.clients[who].get(f"/api/orders/{order['id']}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def delivered(self, rider: str = "logistics", **overrides: Any) -> dict[str, Any]:
        """A cash-on-delivery order taken through to delivered by `rider`."""
        order = self.capture(**overrides)
        order = self.step(order, "confirm")
        order = self.step(order, "prepare")
        order = self.step(order, "mark_ready")
        order = self.step(order, "dispatch", rider_id=str(self.accounts[rider].id))
        return self.step(order, "deliver", who=rider)

    def collect(self, order: dict[str, Any], who: str = "logistics", **fields: Any) -> Any:
        body = {"amount_cents": TOTAL, **fields}
        return self.clients[who].post(f"/api/orders/{order['id']}/cash_collections", json=body)

    def upload(
        self,
        payment: dict[str, Any],
        data: bytes,
        filename: str = "yape.jpg",
        content_type: str = "image/jpeg",
        who: str = "seller",
    ) -> Any:
        return self.clients[who].put(
            f"/api/payments/{payment['id']}/proof",
            files={"file": (filename, data, content_type)},
            headers={"If-Match": f'"{payment["version"]}"'},
        )

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.database.connect("superuser") as conn:
            cursor = conn.execute(
                "SELECT target_type, target_id, before, after FROM audit_events WHERE org_id = %s AND action = %s "
                "ORDER BY seq",
                (self.org, action),
            )
            names = [c.name for c in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stored_files(shop: Shop) -> list[Path]:
    """Every object the local store holds for `shop` (tests run without a Blob token; the store's
    directory is shared by the test processes, each shop's files are under its own folder)."""
    root = Path(os.environ["STORAGE_DIR"]) / "proofs" / str(shop.org)
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".json"))


@pytest.fixture
def shop(database: Database, browser: Any) -> PaymentShop:
    base = open_shop(database, browser)
    return PaymentShop(org=base.org, accounts=base.accounts, clients=base.clients, database=base.database)
