"""Exporting the orders of a filter as CSV: streamed, escaped, in the caller's view.

- Streamed: rows come from a server-side cursor inside one transaction (one consistent
  snapshot) and leave as CSV a few hundred at a time, so memory stays flat whatever the size.
  An export over MAX_ROWS is refused before it starts (422: narrow the dates), rather than cut
  off by the function's time limit halfway through a download.
- Escaped against formula injection: a cell that a spreadsheet would run as a formula (it starts
  with = + - @, a tab or a carriage return, or their full-width forms) gets a leading
  apostrophe, as OWASP recommends. Phones (+51...) are shown that way too; they stay text.
- In the caller's view: LOGISTICS' columns are those of their delivery view (no prices,
  payment status, document or email); every other role gets the office columns. Its filters
  too: one on a field the view hides is refused before the count (lib.orders.queryable).
- Audited: who exported which filter, before the first byte leaves.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import tenant_transaction
from lib.http.errors import ApiError
from lib.orders import store
from lib.orders.schemas import OrderFilters
from lib.orders.store import LIMA, Scope
from lib.orders.views import amount_to_collect, for_delivery
from lib.tenancy import TenantContext

MAX_ROWS = 100_000
BATCH = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

_COLUMNS = """
    o.id, o.number, o.external_ref, o.created_at, o.status, o.payment_status, o.delivery_outcome, o.channel,
    o.customer_name, o.customer_phone, o.document_type, o.document_number, o.customer_email, o.department,
    o.province, o.district, o.ubigeo, o.address_line, o.address_reference, o.latitude, o.longitude,
    o.delivery_date, o.delivery_slot, o.currency, o.subtotal_cents, o.discount_cents, o.shipping_cents,
    o.total_cents, o.prepaid_cents, o.collect_on_delivery, o.carrier, o.notes, o.status_reason,
    s.email AS seller_email, r.full_name AS rider_name,
    (SELECT string_agg(i.quantity || ' x ' || i.name || ' [' || i.sku || ']', '; ' ORDER BY i.position)
     FROM order_items i WHERE i.org_id = o.org_id AND i.order_id = o.id) AS items
"""
_JOINS = (
    " LEFT JOIN users s ON s.org_id = o.org_id AND s.id = o.seller_id"
    " LEFT JOIN users r ON r.org_id = o.org_id AND r.id = o.rider_id"
)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _when(moment: datetime) -> str:
    return moment.astimezone(LIMA).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class ExportColumn:
    header: str
    value: Callable[[Any], object]


_CODE = ExportColumn("code", lambda r: store.order_code(r.number))
_ADDRESS = (
    ExportColumn("department", lambda r: r.department),
    ExportColumn("province", lambda r: r.province),
    ExportColumn("district", lambda r: r.district),
    ExportColumn("ubigeo", lambda r: r.ubigeo),
    ExportColumn("address_line", lambda r: r.address_line),
    ExportColumn("address_reference", lambda r: r.address_reference),
    ExportColumn("latitude", lambda r: r.latitude),
    ExportColumn("longitude", lambda r: r.longitude),
    ExportColumn("delivery_date", lambda r: r.delivery_date),
    ExportColumn("delivery_slot", lambda r: r.delivery_slot),
)

OFFICE_COLUMNS: tuple[ExportColumn, ...] = (
    _CODE,
    ExportColumn("external_ref", lambda r: r.external_ref),
    ExportColumn("created_at", lambda r: _when(r.created_at)),
    ExportColumn("status", lambda r: r.status),
    ExportColumn("payment_status", lambda r: r.payment_status),
    ExportColumn("delivery_outcome", lambda r: r.delivery_outcome),
    ExportColumn("channel", lambda r: r.channel),
    ExportColumn("customer_name", lambda r: r.customer_name),
    ExportColumn("customer_phone", lambda r: r.customer_phone),
    ExportColumn("document_type", lambda r: r.document_type),
    ExportColumn("document_number", lambda r: r.document_number),
    ExportColumn("customer_email", lambda r: r.customer_email),
    *_ADDRESS,
    ExportColumn("items", lambda r: r.items),
    ExportColumn("currency", lambda r: r.currency),
    ExportColumn("subtotal", lambda r: _money(r.subtotal_cents)),
    ExportColumn("discount", lambda r: _money(r.discount_cents)),
    ExportColumn("shipping", lambda r: _money(r.shipping_cents)),
    ExportColumn("total", lambda r: _money(r.total_cents)),
    ExportColumn("collect_on_delivery", lambda r: "si" if r.collect_on_delivery else "no"),
    ExportColumn("amount_to_collect", lambda r: _money(amount_to_collect(r))),
    ExportColumn("seller_email", lambda r: r.seller_email),
    ExportColumn("rider", lambda r: r.rider_name),
    ExportColumn("carrier", lambda r: r.carrier),
    ExportColumn("notes", lambda r: r.notes),
    ExportColumn("status_reason", lambda r: r.status_reason),
)

DELIVERY_COLUMNS: tuple[ExportColumn, ...] = (
    _CODE,
    ExportColumn("status", lambda r: r.status),
    ExportColumn("delivery_outcome", lambda r: r.delivery_outcome),
    ExportColumn("customer_name", lambda r: r.customer_name),
    ExportColumn("customer_phone", lambda r: r.customer_phone),
    *_ADDRESS,
    ExportColumn("items", lambda r: r.items),  # quantity x name [sku]: no prices
    ExportColumn("currency", lambda r: r.currency),
    ExportColumn("amount_to_collect", lambda r: _money(amount_to_collect(r))),
    ExportColumn("rider", lambda r: r.rider_name),
    ExportColumn("carrier", lambda r: r.carrier),
    ExportColumn("status_reason", lambda r: r.status_reason),
)


def columns_for(ctx: TenantContext) -> tuple[ExportColumn, ...]:
    return DELIVERY_COLUMNS if for_delivery(ctx) else OFFICE_COLUMNS


def neutralise(value: object) -> str:
    """A cell as text that no spreadsheet will evaluate."""
    if value is None:
        return ""
    cell = str(value)
    if cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def start(ctx: TenantContext, filters: OrderFilters) -> Iterator[bytes]:
    """Check the size, audit the export, and return the stream of CSV bytes."""
    columns = columns_for(ctx)
    count_statement, count_params = store.page_statement(
        ctx, Scope.for_context(ctx), filters, None, MAX_ROWS + 1, "o.id"
    )
    with tenant_transaction(ctx) as tx:
        count = tx.conn.execute(text(f"SELECT count(*) FROM ({count_statement.text}) AS page"), count_params)
        rows = int(count.scalar_one())
        if rows > MAX_ROWS:
            raise ApiError("export_too_large", 422, params={"limit": MAX_ROWS})
        audit.record(
            tx,
            "order.exported",
            Target("order_export", uuid.uuid4()),
            after={
                "filters": {k: v for k, v in _filters(filters).items() if v is not None},
                "rows": rows,
                "columns": [column.header for column in columns],
            },
        )
    return _stream(ctx, filters, columns)


def _filters(filters: OrderFilters) -> dict[str, object]:
    return {name: getattr(filters, name) for name in filters.__struct_fields__}


def _stream(ctx: TenantContext, filters: OrderFilters, columns: tuple[ExportColumn, ...]) -> Iterator[bytes]:
    statement, params = store.page_statement(ctx, Scope.for_context(ctx), filters, None, None, _COLUMNS, _JOINS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff".encode()  # so Excel reads the file as UTF-8
    writer.writerow([column.header for column in columns])
    with tenant_transaction(ctx) as tx:
        # A server-side cursor, read BATCH rows at a time (partitions() without a size reads all).
        result = tx.conn.execution_options(stream_results=True).execute(statement, params)
        for batch in result.partitions(BATCH):
            for row in batch:
                writer.writerow([neutralise(column.value(row)) for column in columns])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def filename(now: datetime | None = None) -> str:
    return f"pedidos-{(now or datetime.now(UTC)).astimezone(LIMA):%Y%m%d-%H%M}.csv"
