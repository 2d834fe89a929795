"""CSV import: a dry run reports every problem by row and column and writes nothing; the real
run writes all or nothing, skips references already imported, and is audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.orders.conftest import Shop
from tests.order_samples import CSV_HEADER, csv_file, csv_row

CSV = {"Content-Type": "text/csv"}


def _import(shop: Shop, content: bytes, *, dry_run: bool = False, who: str = "admin", **headers: str) -> Any:
    query = "?dry_run=true" if dry_run else ""
    return shop[who].post(f"/api/orders/imports{query}", content=content, headers={**CSV, **headers})


def _state(shop: Shop) -> tuple[int, ...]:
    return tuple(shop.count(table) for table in ("orders", "order_items", "customers", "audit_events"))


GOOD = [
    csv_row("WEB-1001"),
    csv_row("WEB-1001", sku="GORRA-01", producto="Gorra bordada", cantidad="2", precio="25,00"),
    csv_row("WEB-1002", cliente="Lucía Ramos", telefono="+51 912 345 678", canal="Instagram", contraentrega="no"),
]


def test_a_file_becomes_orders_with_their_items_and_prices(shop: Shop) -> None:
    response = _import(shop, csv_file(GOOD))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["orders"], report["created"], report["skipped"], report["error_count"]) == (
        3,
        2,
        2,
        [],
        0,
    )
    listed = {o["code"]: o for o in shop["admin"].get("/api/orders").json()["orders"]}
    assert set(listed) == {report["first_code"], report["last_code"]}
    first = shop["admin"].get(f"/api/orders/{listed[report['first_code']]['id']}").json()
    assert first["external_ref"] == "WEB-1001" and first["channel"] == "whatsapp"
    assert [(i["sku"], i["quantity"], i["unit_price_cents"]) for i in first["items"]] == [
        ("POLO-NEGRO-M", 1, 3990),
        ("GORRA-01", 2, 2500),
    ]
    assert (first["subtotal_cents"], first["shipping_cents"], first["total_cents"]) == (8990, 1000, 9990)
    assert first["customer"]["phone"] == "+51987654321" and first["delivery_date"] == "2030-01-15"
    assert first["seller_id"] == str(shop.accounts["admin"].id)
    second = shop["admin"].get(f"/api/orders/{listed[report['last_code']]['id']}").json()
    assert (second["channel"], second["collect_on_delivery"]) == ("instagram", False)


def test_the_same_file_twice_creates_nothing_the_second_time(shop: Shop) -> None:
    assert _import(shop, csv_file(GOOD)).json()["created"] == 2
    state = _state(shop)
    again = _import(shop, csv_file(GOOD))
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["skipped"]) == (0, ["WEB-1001", "WEB-1002"])
    assert _state(shop)[:3] == state[:3]
    # a file with one old and one new reference creates only the new one
    mixed = _import(shop, csv_file([GOOD[0], GOOD[1], csv_row("WEB-1003", telefono="923456789")]))
    assert (mixed.json()["created"], mixed.json()["skipped"]) == (1, ["WEB-1001"])
    assert shop.count() == 3


def test_one_bad_row_and_nothing_is_written(shop: Shop) -> None:
    rows = [*GOOD, csv_row("WEB-1003", cantidad="-2")]
    state = _state(shop)
    response = _import(shop, csv_file(rows))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_invalid" and "1" in error["message"]
    assert error["details"] == [{"field": "quantity", "reason": error["details"][0]["reason"], "row": 5}]
    assert _state(shop) == state


def test_a_dry_run_reports_each_problem_by_row_and_column_and_writes_nothing(shop: Shop) -> None:
    rows = [
        csv_row("A-1", telefono="12345"),  # row 2
        csv_row("A-2", tipo_documento="RUC", documento="20100070971"),  # row 3: check digit
        csv_row("A-3", ubigeo="99999X"),  # row 4
        csv_row("A-4", precio="12.5051"),  # row 5
        csv_row("A-5", cliente=""),  # row 6
        csv_row("A-6", canal="telegram", cantidad="0"),  # row 7: two problems
        csv_row("A-7"),  # row 8: fine
        csv_row("A-7", ubigeo="150101", sku="X"),  # row 9: the order's district differs from row 8
    ]
    state = _state(shop)
    response = _import(shop, csv_file(rows), dry_run=True, **{"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    report = response.json()
    found = {(e["row"], e["column"]) for e in report["errors"]}
    assert found == {
        (2, "customer_phone"),
        (3, "document_number"),
        (4, "ubigeo"),
        (5, "unit_price"),
        (6, "customer_name"),
        (7, "channel"),
        (7, "quantity"),
        (9, "ubigeo"),
    }
    messages = {(e["row"], e["column"]): e["message"] for e in report["errors"]}
    assert messages[(3, "document_number")] == "The RUC check digit does not match."
    assert messages[(5, "unit_price")] == "The amount has more than 2 decimals."
    assert messages[(9, "ubigeo")] == "Differs from row 8 of the same order."
    assert messages[(7, "quantity")].startswith("Invalid value: expected a whole number")
    assert (report["created"], report["error_count"], report["dry_run"]) == (0, 8, True)
    assert _state(shop) == state


def test_dry_run_messages_are_in_spanish_by_default(shop: Shop) -> None:
    report = _import(shop, csv_file([csv_row("B-1", cantidad="dos")]), dry_run=True).json()
    assert report["errors"] == [
        {"row": 2, "column": "quantity", "message": "Valor no válido: se espera un número entero de 1 a 10000."}
    ]


def test_a_clean_dry_run_says_what_would_happen_and_writes_nothing(shop: Shop) -> None:
    shop.capture("admin", external_ref="WEB-1002")
    state = _state(shop)
    report = _import(shop, csv_file(GOOD), dry_run=True).json()
    assert (report["created"], report["skipped"], report["error_count"]) == (1, ["WEB-1002"], 0)
    assert _state(shop) == state


def test_excel_exports_with_bom_and_semicolons_are_read(shop: Shop) -> None:
    content = "\ufeff".encode() + csv_file([csv_row("XL-1", envio="1.234,50")], delimiter=";")
    response = _import(shop, content)
    assert response.status_code == 200, response.text
    order = shop["admin"].get("/api/orders?q=" + response.json()["first_code"]).json()["orders"][0]
    assert order["total_cents"] == 3990 + 123450


def test_a_seller_column_attributes_orders_to_that_seller(shop: Shop) -> None:
    seller = shop.accounts["seller"]
    header = [*CSV_HEADER, "vendedor"]
    good = _import(shop, csv_file([{**csv_row("S-1"), "vendedor": seller.email.upper()}], header=header))
    assert good.status_code == 200, good.text
    assert {o["seller_id"] for o in shop["seller"].get("/api/orders").json()["orders"]} == {str(seller.id)}
    rider = shop.accounts["logistics"]
    bad = _import(shop, csv_file([{**csv_row("S-2"), "vendedor": rider.email}], header=header), dry_run=True)
    assert [(e["row"], e["column"]) for e in bad.json()["errors"]] == [(2, "seller_email")]


def test_an_import_is_audited_and_each_order_has_its_timeline(shop: Shop) -> None:
    report = _import(shop, csv_file(GOOD)).json()
    with shop.database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT action, target_type, actor_user_id, after FROM audit_events WHERE org_id = %s "
            "AND action IN ('order.imported', 'order.created') ORDER BY seq",
            (shop.org,),
        ).fetchall()
    created = [r for r in rows if r[0] == "order.created"]
    [imported] = [r for r in rows if r[0] == "order.imported"]
    assert len(created) == 2 and {r[3]["source"] for r in created} == {"csv"}
    assert imported[1] == "order_import" and imported[2] == shop.accounts["admin"].id
    assert (imported[3]["created"], imported[3]["first_code"], len(imported[3]["sha256"])) == (
        2,
        report["first_code"],
        64,
    )


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        ("pedido,canal\n".encode("utf-16"), 422, "csv_encoding"),
        ("pedido;cliente\nA;José\n".encode("latin-1"), 422, "csv_encoding"),
        (b"", 422, "csv_empty"),
        (b"pedido,color_favorito\nA,rojo\n", 422, "csv_header"),
        ((",".join(CSV_HEADER) + '\n"A,whatsapp\n').encode(), 422, "csv_malformed"),
        (b"pedido,canal\nA\x00,whatsapp\n", 422, "csv_encoding"),
    ],
    ids=["utf-16", "latin-1", "empty", "unknown column", "unclosed quote", "NUL byte"],
)
def test_files_that_cannot_be_read_are_refused_with_a_clear_code(
    shop: Shop, content: bytes, status: int, code: str
) -> None:
    state = _state(shop)
    response = _import(shop, content)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert _state(shop) == state


def test_the_header_problem_lists_unknown_and_missing_columns(shop: Shop) -> None:
    response = _import(shop, b"pedido,color_favorito\nA,rojo\n")
    details = {(d["field"], d["reason"]) for d in response.json()["error"]["details"]}
    assert ("color_favorito", "unknown column") in details
    assert ("customer_phone", "required column missing") in details


def test_oversized_files_wrong_media_types_and_roles_are_refused(shop: Shop) -> None:
    state = _state(shop)
    big = csv_file([csv_row(f"BIG-{i}", notas="x" * 1900) for i in range(2200)])
    assert len(big) > 4_000_000
    too_big = _import(shop, big)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    as_json = shop["admin"].post("/api/orders/imports", json={"rows": []})
    assert as_json.status_code == 415 and "text/csv" in as_json.json()["error"]["message"]
    for who in ("seller", "logistics"):
        assert _import(shop, csv_file(GOOD), who=who).status_code == 403
    assert _state(shop) == state


def test_more_rows_than_allowed_is_refused(shop: Shop) -> None:
    from lib.orders.csv_format import MAX_ROWS

    content = (",".join(CSV_HEADER) + "\n" + "R\n" * (MAX_ROWS + 1)).encode()
    response = _import(shop, content)
    assert response.status_code == 422 and response.json()["error"]["code"] == "csv_too_many_rows"


def test_two_imports_of_one_file_at_once_create_each_order_once(shop: Shop, browser: Any) -> None:
    import threading

    from tests.conftest import sign_in

    content = csv_file([csv_row(f"RACE-{i}", telefono=f"9{i:08d}") for i in range(1, 41)])
    clients = []
    for who in ("admin", "supervisor"):
        client = browser()
        sign_in(client, shop.accounts[who])
        clients.append(client)
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def upload(client: Any) -> None:
        barrier.wait()
        response = client.post("/api/orders/imports", content=content, headers=CSV)
        assert response.status_code == 200, response.text
        results.append(response.json())

    threads = [threading.Thread(target=upload, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["created"] for r in results) == [0, 40]
    assert shop.count() == 40
