"""Order SQL: every statement filters by org_id (and row-level security checks it again).

Writes take the tenant transaction; single-order writes and CSV imports share the same bulk
statements (`unnest` arrays: one statement per table, whatever the number of orders). Reads
that serve lists and detail pages go through lib.db.pipeline, one round trip each.

What a caller may see is a `Scope`, applied in SQL: an order outside it is simply not found.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text

from lib.db import TenantTx
from lib.db.versioned import update_versioned
from lib.orders import queryable
from lib.orders.lifecycle import LOGISTICS_VISIBLE
from lib.orders.name_search import KeyWalk, key_walk, name_keys
from lib.orders.queryable import Term
from lib.orders.schemas import OrderFilters
from lib.orders.validation import NewCustomer, NewItem, NewOrder, name_words, search_name
from lib.tenancy import Role, TenantContext
from lib.zeus import shipments

LIMA = timezone(timedelta(hours=-5))
CODE_PREFIX = "PED-"


def order_code(number: int) -> str:
    return f"{CODE_PREFIX}{number:06d}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which orders a caller may see: all of the organization's, their own, or delivery's."""

    kind: str  # "all" | "own" | "delivery"
    user_id: uuid.UUID | None = None

    @classmethod
    def for_context(cls, ctx: TenantContext) -> Scope:
        role = ctx.actor.role
        if role == Role.SELLER:
            return cls("own", ctx.actor.user_id)
        if role == Role.LOGISTICS:
            return cls("delivery")
        return cls("all")

    def sql(self) -> tuple[str, dict[str, Any]]:
        if self.kind == "own":
            return " AND o.seller_id = :scope_user", {"scope_user": self.user_id}
        if self.kind == "delivery":
            visible = sorted(status.value for status in LOGISTICS_VISIBLE)
            return " AND o.status = ANY(:scope_statuses)", {"scope_statuses": visible}
        return "", {}


ORDER_COLUMNS = """
    o.id, o.number, o.external_ref, o.customer_id, o.customer_name, o.customer_phone, o.document_type,
    o.document_number, o.customer_email, o.department, o.province, o.district, o.ubigeo, o.address_line,
    o.address_reference, o.latitude, o.longitude, o.delivery_date, o.delivery_slot, o.channel, o.seller_id,
    o.rider_id, o.carrier, o.status, o.payment_status, o.delivery_outcome, o.delivery_attempts,
    o.collect_on_delivery, o.currency, o.subtotal_cents, o.discount_cents, o.shipping_cents, o.total_cents,
    o.paid_cents, o.refunded_cents, o.prepaid_cents,
    o.notes, o.status_reason, o.duplicate_of, d.number AS duplicate_number, o.version, o.created_at,
    o.updated_at, o.status_changed_at
"""
_FROM = "FROM orders o LEFT JOIN orders d ON d.org_id = o.org_id AND d.id = o.duplicate_of"

_ALLOCATE = text(
    "UPDATE organizations SET next_order_number = next_order_number + :count WHERE id = :org "
    "RETURNING next_order_number - :count AS first"
)
_UPSERT_CUSTOMERS = text(
    """
    INSERT INTO customers AS c (org_id, name, phone, document_type, document_number, email, created_at, updated_at)
    SELECT :org, name, phone, document_type, document_number, email, :now, :now
    FROM unnest(CAST(:names AS text[]), CAST(:phones AS text[]), CAST(:document_types AS text[]),
                CAST(:document_numbers AS text[]), CAST(:emails AS text[]))
         AS t(name, phone, document_type, document_number, email)
    ON CONFLICT (org_id, phone) DO UPDATE SET
        name = excluded.name, document_type = excluded.document_type,
        document_number = excluded.document_number, email = coalesce(excluded.email, c.email),
        updated_at = excluded.updated_at
    RETURNING c.id, c.phone
    """
)
_INSERT_ORDERS = text(
    """
    INSERT INTO orders (
        id, org_id, number, external_ref, customer_id, customer_name, search_name, customer_phone, document_type,
        document_number, customer_email, department, province, district, ubigeo, address_line, address_reference,
        latitude, longitude, delivery_date, delivery_slot, channel, seller_id, collect_on_delivery, currency,
        subtotal_cents, discount_cents, shipping_cents, total_cents, notes, duplicate_of, created_at, updated_at,
        status_changed_at)
    SELECT id, :org, number, external_ref, customer_id, customer_name, search_name, customer_phone, document_type,
        document_number, customer_email, department, province, district, ubigeo, address_line, address_reference,
        latitude, longitude, delivery_date, delivery_slot, channel, seller_id, collect_on_delivery, currency,
        subtotal_cents, discount_cents, shipping_cents, subtotal_cents - discount_cents + shipping_cents, notes,
        duplicate_of, :now, :now, :now
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:numbers AS bigint[]), CAST(:external_refs AS text[]),
        CAST(:customer_ids AS uuid[]), CAST(:customer_names AS text[]), CAST(:search_names AS text[]),
        CAST(:customer_phones AS text[]), CAST(:document_types AS text[]), CAST(:document_numbers AS text[]),
        CAST(:customer_emails AS text[]), CAST(:departments AS text[]), CAST(:provinces AS text[]),
        CAST(:districts AS text[]), CAST(:ubigeos AS text[]), CAST(:address_lines AS text[]),
        CAST(:address_references AS text[]), CAST(:latitudes AS float8[]), CAST(:longitudes AS float8[]),
        CAST(:delivery_dates AS date[]), CAST(:delivery_slots AS text[]), CAST(:channels AS text[]),
        CAST(:collect AS boolean[]), CAST(:currencies AS text[]), CAST(:subtotals AS bigint[]),
        CAST(:discounts AS bigint[]), CAST(:shippings AS bigint[]), CAST(:notes AS text[]),
        CAST(:duplicates AS uuid[]), CAST(:sellers AS uuid[]))
    AS t(id, number, external_ref, customer_id, customer_name, search_name, customer_phone, document_type,
         document_number, customer_email, department, province, district, ubigeo, address_line, address_reference,
         latitude, longitude, delivery_date, delivery_slot, channel, collect_on_delivery, currency, subtotal_cents,
         discount_cents, shipping_cents, notes, duplicate_of, seller_id)
    """
)
_INSERT_ITEMS = text(
    """
    INSERT INTO order_items (org_id, order_id, position, sku, name, quantity, unit_price_cents, line_total_cents)
    SELECT :org, order_id, position, sku, name, quantity, unit_price_cents, quantity * unit_price_cents
    FROM unnest(CAST(:order_ids AS uuid[]), CAST(:positions AS smallint[]), CAST(:skus AS text[]),
                CAST(:names AS text[]), CAST(:quantities AS integer[]), CAST(:prices AS bigint[]))
         AS t(order_id, position, sku, name, quantity, unit_price_cents)
    """
)
_INSERT_WORDS = text(
    """
    INSERT INTO order_name_words (org_id, order_id, word)
    SELECT :org, order_id, word FROM unnest(CAST(:order_ids AS uuid[]), CAST(:words AS text[])) AS t(order_id, word)
    """
)
_INSERT_KEYS = text(
    """
    INSERT INTO order_name_keys (org_id, key, created_at, order_id)
    SELECT :org, key, created_at, order_id
    FROM unnest(CAST(:order_ids AS uuid[]), CAST(:created AS timestamptz[]), CAST(:keys AS text[]))
         AS t(order_id, created_at, key)
    """
)
_DELETE_WORDS = text(
    "DELETE FROM order_name_words WHERE org_id = :org AND order_id = ANY(:orders) RETURNING order_id, word"
)
_DELETE_KEYS = text(
    """
    DELETE FROM order_name_keys k
    USING unnest(CAST(:order_ids AS uuid[]), CAST(:created AS timestamptz[]), CAST(:keys AS text[]))
          AS d(order_id, created_at, key)
    WHERE k.org_id = :org AND k.key = d.key AND k.created_at = d.created_at AND k.order_id = d.order_id
    """
)
_DELETE_ITEMS = text("DELETE FROM order_items WHERE org_id = :org AND order_id = :order")
# Per (phone, sku) of a new order, one seek in order_phone_skus to the first live order after the
# 24-hour mark; the earliest of an order's matches is its duplicate (migration 0009).
_DUPLICATES = text(
    """
    SELECT DISTINCT ON (w.idx) w.idx, k.order_id
    FROM unnest(CAST(:idx AS integer[]), CAST(:phones AS text[]), CAST(:skus AS text[])) AS w(idx, phone, sku)
    CROSS JOIN LATERAL (
        SELECT k.created_at, k.order_id FROM order_phone_skus k
        WHERE k.org_id = :org AND k.phone = w.phone AND k.sku = w.sku AND k.created_at > :since
        ORDER BY k.created_at, k.order_id LIMIT 1) k
    ORDER BY w.idx, k.created_at, k.order_id
    """
)
_INSERT_PHONE_SKUS = text(
    """
    INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id)
    SELECT :org, phone, sku, :now, order_id
    FROM unnest(CAST(:order_ids AS uuid[]), CAST(:phones AS text[]), CAST(:skus AS text[])) AS t(order_id, phone, sku)
    """
)
_FILE_PHONE_SKUS_OF = text(
    """
    INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id)
    SELECT DISTINCT :org, :phone, i.sku, :created_at, i.order_id FROM order_items i
    WHERE i.org_id = :org AND i.order_id = :order
    """
)
_UNFILE_PHONE_SKUS_OF = text(
    """
    DELETE FROM order_phone_skus k USING order_items i
    WHERE i.org_id = :org AND i.order_id = :order
      AND k.org_id = :org AND k.phone = :phone AND k.sku = i.sku AND k.created_at = :created_at AND k.order_id = :order
    """
)
_UNFILE_CUSTOMER_PHONES = text(
    """
    DELETE FROM order_phone_skus k
    USING (SELECT DISTINCT customer_phone FROM orders WHERE org_id = :org AND customer_id = :customer) o
    WHERE k.org_id = :org AND k.phone = o.customer_phone
    """
)
_FILE_CUSTOMER_ORDERS = text(
    """
    INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id)
    SELECT DISTINCT o.org_id, o.customer_phone, i.sku, o.created_at, o.id
    FROM orders o JOIN order_items i ON i.org_id = o.org_id AND i.order_id = o.id
    WHERE o.org_id = :org AND o.customer_id = :customer AND o.status <> 'cancelled'
    """
)
_LOCK_NUMBERING = text("SELECT next_order_number FROM organizations WHERE id = :org FOR NO KEY UPDATE")
_EXISTING_REFS = text("SELECT external_ref FROM orders WHERE org_id = :org AND external_ref = ANY(:refs)")
_ITEMS = text(
    "SELECT order_id, sku, name, quantity, unit_price_cents, line_total_cents FROM order_items "
    "WHERE org_id = :org AND order_id = ANY(:ids) ORDER BY order_id, position"
)


def allocate_numbers(tx: TenantTx, count: int) -> int:
    """Reserve `count` consecutive order numbers; returns the first. Serialises per organization."""
    return int(tx.conn.execute(_ALLOCATE, {"org": tx.ctx.org_id, "count": count}).scalar_one())


def upsert_customers(tx: TenantTx, customers: Sequence[NewCustomer], now: datetime) -> dict[str, uuid.UUID]:
    """Create or refresh customers by phone (the latest details win); returns phone -> id."""
    latest = {customer.phone: customer for customer in customers}  # one row per phone per statement
    rows = tx.conn.execute(
        _UPSERT_CUSTOMERS,
        {
            "org": tx.ctx.org_id,
            "now": now,
            "names": [c.name for c in latest.values()],
            "phones": list(latest),
            "document_types": [c.document_type for c in latest.values()],
            "document_numbers": [c.document_number for c in latest.values()],
            "emails": [c.email for c in latest.values()],
        },
    )
    return {row.phone: row.id for row in rows}


def insert_orders(
    tx: TenantTx,
    orders: Sequence[tuple[uuid.UUID, NewOrder]],
    *,
    seller_ids: Sequence[uuid.UUID],
    first_number: int,
    customer_ids: dict[str, uuid.UUID],
    duplicates: Sequence[uuid.UUID | None],
    now: datetime,
) -> None:
    """Insert orders (ids chosen by the caller) and their items: two statements in all."""
    ids = [order_id for order_id, _ in orders]
    new = [order for _, order in orders]
    tx.conn.execute(
        _INSERT_ORDERS,
        {
            "org": tx.ctx.org_id,
            "sellers": list(seller_ids),
            "now": now,
            "ids": ids,
            "numbers": list(range(first_number, first_number + len(new))),
            "external_refs": [o.external_ref for o in new],
            "customer_ids": [customer_ids[o.customer.phone] for o in new],
            "customer_names": [o.customer.name for o in new],
            "search_names": [search_name(o.customer.name) for o in new],
            "customer_phones": [o.customer.phone for o in new],
            "document_types": [o.customer.document_type for o in new],
            "document_numbers": [o.customer.document_number for o in new],
            "customer_emails": [o.customer.email for o in new],
            "departments": [o.address.department.strip() for o in new],
            "provinces": [o.address.province.strip() for o in new],
            "districts": [o.address.district.strip() for o in new],
            "ubigeos": [o.address.ubigeo for o in new],
            "address_lines": [o.address.line.strip() for o in new],
            "address_references": [o.address.reference.strip() for o in new],
            "latitudes": [o.address.latitude for o in new],
            "longitudes": [o.address.longitude for o in new],
            "delivery_dates": [o.delivery_date for o in new],
            "delivery_slots": [o.delivery_slot for o in new],
            "channels": [o.channel for o in new],
            "collect": [o.collect_on_delivery for o in new],
            "currencies": [o.currency for o in new],
            "subtotals": [o.totals.subtotal_cents for o in new],
            "discounts": [o.totals.discount_cents for o in new],
            "shippings": [o.totals.shipping_cents for o in new],
            "notes": [o.notes for o in new],
            "duplicates": list(duplicates),
        },
    )
    insert_items(tx, [(order_id, order.items) for order_id, order in orders])
    insert_name_words(tx, [(order_id, now, order.customer.name) for order_id, order in orders])
    filed = [(order_id, order.customer.phone, sku) for order_id, order in orders for sku in _skus(order.items)]
    tx.conn.execute(
        _INSERT_PHONE_SKUS,
        {
            "org": tx.ctx.org_id,
            "now": now,
            "order_ids": [order_id for order_id, _, _ in filed],
            "phones": [phone for _, phone, _ in filed],
            "skus": [sku for _, _, sku in filed],
        },
    )


def _skus(items: Sequence[NewItem]) -> list[str]:
    return list(dict.fromkeys(item.sku for item in items))  # an order may list a SKU twice


def file_for_duplicates(tx: TenantTx, order_id: uuid.UUID, phone: str, created_at: datetime) -> None:
    """File a live order's stored items under `phone` for the duplicate check (after its phone or
    items changed; unfile the old ones first)."""
    params = {"org": tx.ctx.org_id, "order": order_id, "phone": phone, "created_at": created_at}
    tx.conn.execute(_FILE_PHONE_SKUS_OF, params)


def unfile_for_duplicates(tx: TenantTx, order_id: uuid.UUID, phone: str, created_at: datetime) -> None:
    """Take an order out of the duplicate check: its stored items under `phone`, its current one.
    Before its items or phone change, and when it is cancelled (cancelled orders do not count)."""
    params = {"org": tx.ctx.org_id, "order": order_id, "phone": phone, "created_at": created_at}
    tx.conn.execute(_UNFILE_PHONE_SKUS_OF, params)


def unfile_customer_for_duplicates(tx: TenantTx, customer_id: uuid.UUID) -> None:
    """Erasure, before the orders' phones are rewritten: every entry under the phones they hold."""
    tx.conn.execute(_UNFILE_CUSTOMER_PHONES, {"org": tx.ctx.org_id, "customer": customer_id})


def file_customer_for_duplicates(tx: TenantTx, customer_id: uuid.UUID) -> None:
    """Erasure, after: the customer's live orders filed again under the placeholder they now hold."""
    tx.conn.execute(_FILE_CUSTOMER_ORDERS, {"org": tx.ctx.org_id, "customer": customer_id})


def insert_name_words(tx: TenantTx, orders: Iterable[tuple[uuid.UUID, datetime, str]]) -> None:
    """Index each order's customer name for search: its words (lib.orders.validation.name_words)
    and the keys search walks (lib.orders.name_search). Takes (order id, its created_at, name)."""
    words: list[tuple[uuid.UUID, str]] = []
    keys: list[tuple[uuid.UUID, datetime, str]] = []
    for order_id, created_at, name in orders:
        found = name_words(name)
        words += [(order_id, word) for word in found]
        keys += [(order_id, created_at, key) for key in name_keys(found)]
    org = tx.ctx.org_id
    tx.conn.execute(_INSERT_WORDS, {"org": org, "order_ids": [o for o, _ in words], "words": [w for _, w in words]})
    tx.conn.execute(
        _INSERT_KEYS,
        {
            "org": org,
            "order_ids": [o for o, _, _ in keys],
            "created": [c for _, c, _ in keys],
            "keys": [k for _, _, k in keys],
        },
    )


def delete_name_words(tx: TenantTx, orders: Sequence[tuple[uuid.UUID, datetime]]) -> None:
    """Unindex orders' names (order id, its created_at): the keys are those of the words stored."""
    created = dict(orders)
    stored: dict[uuid.UUID, list[str]] = {}
    for row in tx.conn.execute(_DELETE_WORDS, {"org": tx.ctx.org_id, "orders": list(created)}):
        stored.setdefault(row.order_id, []).append(row.word)
    keys = [(order_id, key) for order_id, words in stored.items() for key in name_keys(words)]
    if keys:
        params = {
            "org": tx.ctx.org_id,
            "order_ids": [o for o, _ in keys],
            "created": [created[o] for o, _ in keys],
            "keys": [k for _, k in keys],
        }
        tx.conn.execute(_DELETE_KEYS, params)


def replace_name_words(tx: TenantTx, order_id: uuid.UUID, created_at: datetime, name: str) -> None:
    delete_name_words(tx, [(order_id, created_at)])
    insert_name_words(tx, [(order_id, created_at, name)])


def insert_items(tx: TenantTx, orders: Iterable[tuple[uuid.UUID, Sequence[NewItem]]]) -> None:
    rows = [(order_id, position, item) for order_id, lines in orders for position, item in enumerate(lines, 1)]
    tx.conn.execute(
        _INSERT_ITEMS,
        {
            "org": tx.ctx.org_id,
            "order_ids": [order_id for order_id, _, _ in rows],
            "positions": [position for _, position, _ in rows],
            "skus": [item.sku for _, _, item in rows],
            "names": [item.name for _, _, item in rows],
            "quantities": [item.quantity for _, _, item in rows],
            "prices": [item.unit_price_cents for _, _, item in rows],
        },
    )


def replace_items(tx: TenantTx, order_id: uuid.UUID, items: Sequence[NewItem]) -> None:
    tx.conn.execute(_DELETE_ITEMS, {"org": tx.ctx.org_id, "order": order_id})
    insert_items(tx, [(order_id, items)])


def find_duplicates(
    tx: TenantTx, orders: Sequence[tuple[uuid.UUID, NewOrder]], now: datetime
) -> list[uuid.UUID | None]:
    """For each new order, the earliest order for the same phone sharing an item in the last 24
    hours, cancelled ones aside: one index seek per (phone, sku), whatever the phone's count.

    Earlier orders of the same batch count too (a file that lists the same order twice). A
    likely double capture is flagged, not refused: the customer may really want two.
    """
    idx: list[int] = []
    phones: list[str] = []
    skus: list[str] = []
    for index, (_, order) in enumerate(orders):
        for item in order.items:
            idx.append(index)
            phones.append(order.customer.phone)
            skus.append(item.sku)
    params = {"org": tx.ctx.org_id, "since": now - timedelta(hours=24), "idx": idx, "phones": phones, "skus": skus}
    found: dict[int, uuid.UUID] = {row.idx: row.order_id for row in tx.conn.execute(_DUPLICATES, params)}
    earlier: dict[str, list[tuple[uuid.UUID, frozenset[str]]]] = {}
    result: list[uuid.UUID | None] = []
    for index, (order_id, order) in enumerate(orders):
        mine = frozenset(item.sku for item in order.items)
        same_phone = earlier.setdefault(order.customer.phone, [])
        in_batch = next((other for other, theirs in same_phone if theirs & mine), None)
        result.append(found.get(index, in_batch))
        same_phone.append((order_id, mine))
    return result


def lock_numbering(tx: TenantTx) -> None:
    """Serialise captures and imports of one organization until `tx` ends.

    Taken before checking external references, so two imports of the same file cannot both
    find a reference free: the second waits, then sees the first's orders.
    """
    tx.conn.execute(_LOCK_NUMBERING, {"org": tx.ctx.org_id})


def existing_external_refs(tx: TenantTx, refs: Sequence[str]) -> set[str]:
    return {row.external_ref for row in tx.conn.execute(_EXISTING_REFS, {"org": tx.ctx.org_id, "refs": list(refs)})}


def lock(tx: TenantTx, order_id: uuid.UUID, scope: Scope) -> Any:
    """The order row, locked for this transaction, if the scope sees it."""
    clause, params = scope.sql()
    statement = text(
        f"SELECT {ORDER_COLUMNS} {_FROM} WHERE o.org_id = :org AND o.id = :id{clause} FOR NO KEY UPDATE OF o"
    )
    return tx.conn.execute(statement, {"org": tx.ctx.org_id, "id": order_id, **params}).one_or_none()


def items_of(tx: TenantTx, order_ids: Sequence[uuid.UUID]) -> list[Any]:
    return list(tx.conn.execute(_ITEMS, {"org": tx.ctx.org_id, "ids": list(order_ids)}))


def detail_statements(ctx: TenantContext, order_id: uuid.UUID, scope: Scope) -> list[tuple[TextClause, dict[str, Any]]]:
    """The order, its items and its shipment: three statements for one pipelined read."""
    clause, params = scope.sql()
    order = text(f"SELECT {ORDER_COLUMNS} {_FROM} WHERE o.org_id = :org AND o.id = :id{clause}")
    return [
        (order, {"org": ctx.org_id, "id": order_id, **params}),
        (_ITEMS, {"org": ctx.org_id, "ids": [order_id]}),
        (shipments.OF_ORDER, {"org": ctx.org_id, "order_id": order_id}),
    ]


# Columns `update` may set: the statement is built from these names only, never from input.
UPDATABLE = frozenset(
    {
        "customer_id",
        "customer_name",
        "search_name",
        "customer_phone",
        "document_type",
        "document_number",
        "customer_email",
        "department",
        "province",
        "district",
        "ubigeo",
        "address_line",
        "address_reference",
        "latitude",
        "longitude",
        "delivery_date",
        "delivery_slot",
        "channel",
        "rider_id",
        "carrier",
        "collect_on_delivery",
        "subtotal_cents",
        "discount_cents",
        "shipping_cents",
        "total_cents",
        "notes",
        "status",
        "status_reason",
        "delivery_outcome",
        "delivery_attempts",
        "status_changed_at",
    }
)


def update(tx: TenantTx, order_id: uuid.UUID, version: int, changes: dict[str, Any], now: datetime) -> bool:
    """Apply column changes if the version still matches; bumps it. False when stale."""
    return update_versioned(tx, "orders", UPDATABLE, order_id, version, changes, now) is not None


# --- lists ---------------------------------------------------------------------------------------


def encode_cursor(created_at: datetime, order_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(order_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, order_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            return None
        return moment, uuid.UUID(order_id)
    except (ValueError, TypeError):
        return None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LIMA).astimezone(UTC)


_NOTHING: tuple[str, dict[str, Any]] = (" AND false", {})
_EVERY_TERM = frozenset(Term)


def _search(q: str, terms: frozenset[Term]) -> tuple[str, dict[str, Any]] | KeyWalk:
    """How `q` is searched: an order code, a phone, a document, or words of the customer's name,
    each only if it is one of `terms` (what the caller's view shows: lib.orders.queryable).

    A name is searched by walking one key of order_name_keys (a KeyWalk, see page_statement); a
    name of one- and two-letter words only, which has no key, by the orders themselves."""
    from lib.peru import InvalidIdentifier, normalise_phone

    q = q.strip()
    compact = q.replace(" ", "").replace("-", "")
    if q.upper().startswith(CODE_PREFIX) and q[len(CODE_PREFIX) :].isdigit():
        if Term.CODE not in terms:
            return _NOTHING
        return " AND o.number = :q_number", {"q_number": int(q[len(CODE_PREFIX) :])}
    if compact.lstrip("+").isdigit():
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if Term.DOCUMENT in terms:
            clauses.append("o.document_number = :q_document")
            params["q_document"] = compact.lstrip("+")
        if Term.CODE in terms and len(compact.lstrip("+")) <= 9:
            clauses.append("o.number = :q_number")
            params["q_number"] = int(compact.lstrip("+"))
        if Term.PHONE in terms:
            try:
                params["q_phone"] = normalise_phone(compact)
                clauses.append("o.customer_phone = :q_phone")
            except InvalidIdentifier:
                pass
        return (f" AND ({' OR '.join(clauses)})", params) if clauses else _NOTHING
    if compact.isalnum() and any(c.isdigit() for c in compact) and 5 <= len(compact) <= 15:
        if Term.DOCUMENT not in terms:
            return _NOTHING
        return " AND o.document_number = :q_document", {"q_document": compact.upper()}  # a foreign ID
    words = name_words(q)[:5]
    if not words or Term.NAME not in terms:
        return _NOTHING
    walk = key_walk(words)
    if walk is not None:
        return walk
    return _word_checks(words, "o.id", fence=False)


def _word_checks(words: Sequence[str], order_id: str, *, fence: bool) -> tuple[str, dict[str, Any]]:
    """The order `order_id` names has a word starting with each of `words`: a prefix range per word
    on order_name_words' primary key, written with `>=` and `<` (leakproof, so row-level security
    lets the index serve them, and a range even in a generic plan, where `^@` is not). `fence`
    (OFFSET 0) keeps each check a probe per order met, in the order the page walks them."""
    offset = " OFFSET 0" if fence else ""
    sql = "".join(
        f" AND EXISTS (SELECT FROM order_name_words w WHERE w.org_id = :org AND w.order_id = {order_id}"
        f" AND w.word >= :q_from_{index} AND w.word < :q_to_{index}{offset})"
        for index in range(len(words))
    )
    ranges: dict[str, Any] = {}
    for index, word in enumerate(words):
        ranges[f"q_from_{index}"], ranges[f"q_to_{index}"] = word, _after_prefix(word)
    return sql, ranges


def _after_prefix(prefix: str) -> str:
    """The first string (in code point order, the words' C collation) after all that start with prefix."""
    last = prefix[-1]
    if ord(last) >= 0x10FFFF:
        return prefix + "\U0010ffff"
    return prefix[:-1] + chr(ord(last) + 1)


def is_name_search(filters: OrderFilters) -> bool:
    """Whether the list searches names: its best plan depends on how common the words are. (What
    a term is read as does not depend on the caller; whether it is searched at all does.)"""
    if filters.q is None:
        return False
    search = _search(filters.q, _EVERY_TERM)
    return isinstance(search, KeyWalk) or search[0].startswith(" AND EXISTS")


def page_statement(
    ctx: TenantContext,
    scope: Scope,
    filters: OrderFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int | None,
    columns: str,
    joins: str = "",
) -> tuple[TextClause, dict[str, Any]]:
    """Orders newest first: `limit` rows (all if None) after the keyset `after`.

    `columns` and `joins` are SQL written in this package (never input): the list, the export
    and the benchmark share this one statement.

    A name search walks its key in order_name_keys (org_id, key, created_at, order_id) backwards:
    rows come newest first, the words left are checked on each, and only then is the order read
    (a LATERAL subquery fenced with OFFSET 0, so the planner cannot swap the walk for a join that
    reads every order of the organization and sorts). The page stops at `limit`, so it reads
    about as many rows as it returns, or the key's rows when fewer orders match.

    Filters and search terms are only those the caller's view shows (lib.orders.queryable): a
    filter outside it is refused here, before any SQL, whoever the caller."""
    reach = queryable.reach(ctx.actor.role)
    reach.require(filters)
    clauses: list[str] = []
    params: dict[str, Any] = {"org": ctx.org_id}
    source = "orders o"
    at, order_id = "o.created_at", "o.id"  # the (created_at, id) the page is ordered and cut by
    search = _search(filters.q, reach.terms) if filters.q else None
    if isinstance(search, KeyWalk):
        source = (
            "order_name_keys k CROSS JOIN LATERAL "
            "(SELECT * FROM orders o WHERE o.org_id = :org AND o.id = k.order_id OFFSET 0) o"
        )
        at, order_id = "k.created_at", "k.order_id"
        checks, check_params = _word_checks(search.checks, order_id, fence=True)
        clauses.append(f" AND k.org_id = :org AND k.key = :q_key{checks}")
        params.update(check_params, q_key=search.key)
    elif search is not None:
        clauses.append(search[0])
        params.update(search[1])
    for name in ("status", "payment_status", "channel", "seller_id", "rider_id", "carrier", "ubigeo"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f" AND o.{name} = :f_{name}")
            params[f"f_{name}"] = value.value if hasattr(value, "value") else value
    if filters.created_from is not None:
        clauses.append(f" AND {at} >= :created_from")
        params["created_from"] = _day_start(filters.created_from)
    if filters.created_to is not None:
        clauses.append(f" AND {at} < :created_to")
        params["created_to"] = _day_start(filters.created_to + timedelta(days=1))
    if after is not None:
        clauses.append(f" AND ({at}, {order_id}) < (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    scope_clause, scope_params = scope.sql()
    params.update(scope_params)
    sql = (
        f"SELECT {columns} FROM {source}{joins} WHERE o.org_id = :org{scope_clause}{''.join(clauses)} "
        f"ORDER BY {at} DESC, {order_id} DESC"
    )
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return _statement(sql), params


@lru_cache(maxsize=256)
def _statement(sql: str) -> TextClause:
    """The clause for a page's SQL, kept: a list repeats a few shapes, and parsing the text for its
    bind parameters costs more than the rest of building the page's statement."""
    return text(sql)
