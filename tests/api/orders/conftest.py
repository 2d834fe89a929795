"""A shop with one person per role, each signed in on their own browser."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Account, Database, sign_in
from tests.order_samples import order_payload


@dataclass
class Shop:
    org: uuid.UUID
    accounts: dict[str, Account]
    clients: dict[str, Any]
    database: Database

    def __getitem__(self, who: str) -> Any:
        """The signed-in client of `who` (admin, supervisor, seller, other_seller, logistics)."""
        return self.clients[who]

    def capture(self, who: str = "seller", **overrides: Any) -> dict[str, Any]:
        response = self.clients[who].post("/api/orders", json=order_payload(**overrides))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def step(self, order: dict[str, Any], action: str, who: str = "admin", **extra: Any) -> dict[str, Any]:
        """Take a lifecycle step and return the order as it is after it."""
        response = self.clients[who].post(
            f"/api/orders/{order['id']}/transitions",
            json={"action": action, **extra},
            headers={"If-Match": f'"{order["version"]}"'},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def row(self, order_id: str) -> dict[str, Any]:
        """The order's row as the database holds it (superuser: no RLS)."""
        with self.database.connect("superuser") as conn:
            cursor = conn.execute("SELECT * FROM orders WHERE id = %s", (order_id,))
            values = cursor.fetchone()
            assert values is not None
            return dict(zip([c.name for c in cursor.description or ()], values, strict=True))

    def count(self, table: str = "orders") -> int:
        with self.database.connect("superuser") as conn:
            [n] = conn.execute(f"SELECT count(*) FROM {table} WHERE org_id = %s", (self.org,)).fetchone()  # type: ignore[misc]
            return int(n)


def open_shop(database: Database, browser: Any, name: str = "Tienda Demo") -> Shop:
    org = database.create_org(name)
    roles = {
        "admin": "ADMIN",
        "supervisor": "SUPERVISOR",
        "seller": "SELLER",
        "other_seller": "SELLER",
        "logistics": "LOGISTICS",
    }
    accounts = {who: database.create_user(org, role, full_name=who.title()) for who, role in roles.items()}
    clients = {}
    for who, account in accounts.items():
        clients[who] = browser()
        sign_in(clients[who], account)
    return Shop(org=org, accounts=accounts, clients=clients, database=database)


@pytest.fixture
def shop(database: Database, browser: Any) -> Shop:
    return open_shop(database, browser)
