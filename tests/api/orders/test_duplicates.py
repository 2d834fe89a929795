"""The duplicate check: the earliest live order for the same phone sharing an item in the last 24
hours, found with one index seek per item however many orders the phone has (order_phone_skus,
migration 0009), which every write that changes a phone, an item or a status keeps exact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from lib.db import tenant_transaction
from lib.orders import store
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from scripts.bench_duplicates import BASELINE_SQL
from tests.api.orders.conftest import Shop
from tests.conftest import Database
from tests.order_samples import csv_file, csv_row, order_payload

POLO = {"sku": "POLO-NEGRO-M", "name": "Polo negro M", "quantity": 1, "unit_price_cents": 3990}
MEDIAS = {"sku": "MEDIAS", "name": "Medias", "quantity": 1, "unit_price_cents": 900}

# What migration 0009 files: every SKU of every order that is not cancelled, under its phone.
_DERIVED = """
    SELECT DISTINCT o.customer_phone, i.sku, o.created_at, o.id
    FROM orders o JOIN order_items i ON i.org_id = o.org_id AND i.order_id = o.id
    WHERE o.org_id = %s AND o.status <> 'cancelled'
"""


def _filed(shop: Shop) -> set[tuple[Any, ...]]:
    with shop.database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT phone, sku, created_at, order_id FROM order_phone_skus WHERE org_id = %s", (shop.org,)
        ).fetchall()
    return {tuple(row) for row in rows}


def _derived(shop: Shop) -> set[tuple[Any, ...]]:
    with shop.database.connect("superuser") as conn:
        return {tuple(row) for row in conn.execute(_DERIVED, (shop.org,)).fetchall()}


def _assert_filed_as_derived(shop: Shop) -> None:
    filed = _filed(shop)
    assert filed and filed == _derived(shop)


def _duplicate(order: dict[str, Any]) -> str | None:
    return order["duplicate_of"]["id"] if order["duplicate_of"] else None


def _edit(shop: Shop, order: dict[str, Any], **change: Any) -> dict[str, Any]:
    response = shop["admin"].patch(
        f"/api/orders/{order['id']}", json=change, headers={"If-Match": f'"{order["version"]}"'}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_cancelled_order_is_nobodys_duplicate_and_the_earliest_live_one_is(shop: Shop) -> None:
    first = shop.capture(items=[POLO])
    second = shop.capture(items=[POLO])
    assert _duplicate(second) == first["id"]
    both = shop.capture(items=[POLO, MEDIAS])
    assert _duplicate(both) == first["id"]  # the earliest, not the latest
    shop.step(first, "cancel", reason="Pedido repetido")
    assert _duplicate(shop.capture(items=[POLO])) == second["id"]
    shop.step(second, "cancel", reason="Pedido repetido")
    assert _duplicate(shop.capture(items=[MEDIAS])) == both["id"]
    assert _duplicate(shop.capture(items=[POLO])) == both["id"]
    _assert_filed_as_derived(shop)


def test_only_orders_of_the_last_24_hours_count(shop: Shop) -> None:
    first = shop.capture(items=[POLO])

    def age(hours: int) -> None:
        with shop.database.connect("superuser") as conn:
            for table, column in (("orders", "id"), ("order_phone_skus", "order_id")):
                conn.execute(
                    f"UPDATE {table} SET created_at = now() - %s * interval '1 hour' WHERE {column} = %s",
                    (hours, first["id"]),
                )

    age(23)
    within = shop.capture(items=[POLO])
    assert _duplicate(within) == first["id"]
    shop.step(within, "cancel", reason="prueba")  # out of the way: only `first` is left to find
    age(25)
    assert _duplicate(shop.capture(items=[POLO])) is None
    _assert_filed_as_derived(shop)


def _capture_for(shop: Shop, phone: str, items: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    payload = order_payload(items=items, external_ref=ref)
    payload["customer"]["phone"] = phone
    response = shop["seller"].post("/api/orders", json=payload)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_edited_phone_or_item_list_is_what_later_orders_are_checked_against(shop: Shop) -> None:
    first = shop.capture(items=[POLO])
    moved = _edit(shop, first, customer={**order_payload()["customer"], "phone": "912 345 678"})
    assert moved["customer"]["phone"] == "+51912345678"
    _assert_filed_as_derived(shop)
    assert _duplicate(_capture_for(shop, "987654321", [POLO], "OLD-PHONE")) is None
    on_new_phone = _capture_for(shop, "912345678", [POLO], "NEW-PHONE")
    assert _duplicate(on_new_phone) == first["id"]

    restocked = _edit(shop, moved, items=[MEDIAS])
    assert [item["sku"] for item in restocked["items"]] == ["MEDIAS"]
    _assert_filed_as_derived(shop)
    assert _duplicate(_capture_for(shop, "912345678", [MEDIAS], "MEDIAS")) == first["id"]
    assert _duplicate(_capture_for(shop, "912345678", [POLO], "POLO")) == on_new_phone["id"]


def test_an_import_sees_stored_orders_and_earlier_orders_of_its_own_file(shop: Shop) -> None:
    stored = shop.capture("admin", items=[POLO])  # phone 987 654 321, as csv_row's
    content = csv_file(
        [
            csv_row("WEB-1"),  # POLO-NEGRO-M for 987654321: the stored order
            csv_row("WEB-2", telefono="911222333", sku="MEDIAS", producto="Medias"),
            csv_row("WEB-3", telefono="911222333", sku="MEDIAS", producto="Medias"),  # WEB-2, same file
            csv_row("WEB-4", telefono="911222333", sku="GORRO", producto="Gorro"),
        ]
    )
    response = shop["admin"].post("/api/orders/imports", content=content, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    with shop.database.connect("superuser") as conn:
        rows = dict(
            conn.execute("SELECT external_ref, duplicate_of FROM orders WHERE org_id = %s", (shop.org,)).fetchall()
        )
    assert rows["WEB-1"] == uuid.UUID(stored["id"])
    assert rows["WEB-2"] is None and rows["WEB-4"] is None
    with shop.database.connect("superuser") as conn:
        [[web_2]] = conn.execute("SELECT id FROM orders WHERE org_id = %s AND external_ref = 'WEB-2'", (shop.org,))
    assert rows["WEB-3"] == web_2
    _assert_filed_as_derived(shop)


def test_erasure_leaves_no_entry_under_the_customers_phone(shop: Shop) -> None:
    order = shop.capture(items=[POLO, MEDIAS])
    shop.step(shop.capture(items=[POLO]), "cancel", reason="repetido")
    phone = "+51987654321"
    assert {row[1] for row in _filed(shop) if row[0] == phone} == {"POLO-NEGRO-M", "MEDIAS"}  # filed before
    customer_id = shop["admin"].get(f"/api/orders/{order['id']}").json()["customer"]["id"]
    response = shop["admin"].post(f"/api/customers/{customer_id}/anonymise")
    assert response.status_code == 200, response.text
    assert not [row for row in _filed(shop) if row[0] == phone]
    _assert_filed_as_derived(shop)  # filed under the placeholder the order now holds
    assert _duplicate(shop.capture(items=[POLO])) is None  # the phone is a stranger again


# --- cost: one index seek per item, whatever the phone's count --------------------------------


def _seed_phone(database: Database, org: uuid.UUID, seller: uuid.UUID, phone: str, orders: int) -> None:
    """`orders` orders for `phone` in the last 24 hours, two items each among twenty SKUs, filed."""
    with database.connect("owner") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org),))
        [[customer]] = conn.execute(
            "INSERT INTO customers (org_id, name, phone, document_type, document_number) "
            "VALUES (%s, 'Cliente', %s, 'DNI', '12345678') RETURNING id",
            (org, phone),
        ).fetchall()
        [[first]] = conn.execute(
            "UPDATE organizations SET next_order_number = next_order_number + %s WHERE id = %s "
            "RETURNING next_order_number - %s",
            (orders, org, orders),
        ).fetchall()
        conn.execute(
            """
            INSERT INTO orders (org_id, number, customer_id, customer_name, search_name, customer_phone,
                document_type, document_number, department, province, district, ubigeo, address_line, channel,
                seller_id, subtotal_cents, total_cents, created_at)
            SELECT %(org)s, %(first)s + n, %(customer)s, 'Cliente', 'cliente', %(phone)s, 'DNI', '12345678',
                'Lima', 'Lima', 'Lima', '150101', 'Av. Arequipa 1', 'whatsapp', %(seller)s, 1000, 1000,
                now() - n * interval '10 seconds'
            FROM generate_series(0, %(orders)s - 1) AS n
            """,
            {"org": org, "first": first, "customer": customer, "phone": phone, "seller": seller, "orders": orders},
        )
        conn.execute(
            """
            INSERT INTO order_items (org_id, order_id, position, sku, name, quantity, unit_price_cents,
                line_total_cents)
            SELECT o.org_id, o.id, k, 'SKU-' || ((o.number * 7 + k) %% 20), 'Producto', 1, 500, 500
            FROM orders o CROSS JOIN generate_series(1, 2) AS k
            WHERE o.org_id = %s AND o.customer_phone = %s
            """,
            (org, phone),
        )
        conn.execute(
            """
            INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id)
            SELECT DISTINCT o.org_id, o.customer_phone, i.sku, o.created_at, o.id
            FROM orders o JOIN order_items i ON i.org_id = o.org_id AND i.order_id = o.id
            WHERE o.org_id = %s AND o.customer_phone = %s
            """,
            (org, phone),
        )


def _cost(org: uuid.UUID, sql: str, phone: str) -> tuple[int, int, set[str]]:
    """What the check reads for one order of `phone` (two items, one it ordered), as the
    application role under row-level security: shared buffers, rows its scans return, and how
    it reads each table ("Index Only Scan on order_phone_skus"...)."""
    import json

    ctx = TenantContext(org, Actor(uuid.uuid4(), Role.ADMIN), RequestMeta("plan", None, None))
    params = {
        "org": org,
        "since": datetime.now(UTC) - timedelta(hours=24),
        "idx": [0, 0],
        "phones": [phone, phone],
        "skus": ["SKU-7", "NEVER-SOLD"],
    }
    with tenant_transaction(ctx) as tx:
        [[plan]] = tx.conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql), params).fetchall()
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]

    def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(child for sub in node.get("Plans", []) for child in nodes(sub))]

    found = nodes(root)
    scanned = sum(n["Actual Rows"] * n["Actual Loops"] for n in found if "Scan" in n["Node Type"])
    buffers = int(root["Shared Hit Blocks"] + root["Shared Read Blocks"])
    return buffers, int(scanned), {f"{n['Node Type']} on {n['Relation Name']}" for n in found if "Relation Name" in n}


def test_the_check_reads_as_much_for_3000_orders_of_a_phone_as_for_one(shop: Shop) -> None:
    seller = shop.accounts["seller"].id
    _seed_phone(shop.database, shop.org, seller, "+51900000001", 3_000)
    _seed_phone(shop.database, shop.org, seller, "+51900000002", 1)
    with shop.database.connect("superuser", autocommit=True) as conn:
        conn.execute("ANALYZE order_phone_skus")
        conn.execute("ANALYZE orders")
        conn.execute("ANALYZE order_items")

    for sql in (store._DUPLICATES.text, BASELINE_SQL):  # warm: the first run also reads the catalog
        _cost(shop.org, sql, "+51900000003")
    heavy, heavy_rows, heavy_plan = _cost(shop.org, store._DUPLICATES.text, "+51900000001")
    light, light_rows, _ = _cost(shop.org, store._DUPLICATES.text, "+51900000002")
    assert heavy_plan <= {"Index Only Scan on order_phone_skus", "Index Scan on order_phone_skus"}, heavy_plan
    assert heavy_rows <= 4 and light_rows <= 4, (heavy_rows, light_rows)  # the two items, and the seeks' entries
    assert heavy <= light + 4, (heavy, light)
    # The check as it was, under the same measure, reads the phone's orders: the measure can fail.
    old_heavy, old_rows, _ = _cost(shop.org, BASELINE_SQL, "+51900000001")
    assert old_rows > 3_000 and old_heavy > 10 * heavy, (old_rows, old_heavy, heavy)
