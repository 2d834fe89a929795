"""Importing orders from a CSV file: checked whole, written whole, each order once.

A dry run reads the file and the organization (sellers named in it, references already
imported) and reports what the real run would do, writing nothing. The real run does the same
checks, then either writes every new order in one transaction or, if any row has a problem,
writes nothing at all (422 listing the problems by row and column).

Orders whose external reference is already in the organization are skipped and listed: running
the same file twice creates nothing the second time. Imports of one organization take turns
(`store.lock_numbering`), so two uploads of one file at once cannot both create its orders.

Writes are set-based: a handful of statements whatever the number of rows (customers, orders,
items, duplicate check, audit), which is what keeps 10,000 rows within a couple of seconds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import TenantTx
from lib.http.errors import ApiError
from lib.http.messages import Language
from lib.orders import store
from lib.orders.csv_format import MAX_REPORTED, ImportedOrder, ParsedFile
from lib.orders.schemas import ImportProblem, ImportReport
from lib.orders.service import created_event

_SELLERS = text(
    "SELECT id, email FROM users WHERE org_id = :org AND email = ANY(:emails) AND status = 'active' "
    "AND role IN ('SELLER', 'SUPERVISOR', 'ADMIN')"
)


def run(
    tx: TenantTx, parsed: ParsedFile, raw: bytes, *, dry_run: bool, now: datetime, language: Language
) -> ImportReport:
    importer = tx.ctx.actor.user_id
    if importer is None:
        raise ApiError("unauthorized", 401)
    sellers = _sellers(tx, parsed)
    if not dry_run:
        store.lock_numbering(tx)
    refs = [imported.order.external_ref for imported in parsed.orders if imported.order.external_ref]
    existing = store.existing_external_refs(tx, refs) if refs else set()
    new = [imported for imported in parsed.orders if imported.order.external_ref not in existing]
    parsed.problems.sort(key=lambda problem: problem.row)

    if parsed.problems and not dry_run:
        raise ApiError("import_invalid", 422, params={"count": len(parsed.problems)}, details=parsed.details(language))
    first = last = None
    if new and not dry_run:
        number = _write(tx, new, [sellers.get(i.seller_email or "", importer) for i in new], now)
        first, last = store.order_code(number), store.order_code(number + len(new) - 1)
        audit.record(
            tx,
            "order.imported",
            Target("order_import", uuid.uuid4()),
            after={
                "rows": parsed.rows,
                "created": len(new),
                "skipped": len(existing),
                "first_code": first,
                "last_code": last,
                "sha256": hashlib.sha256(raw).hexdigest(),
            },
        )
    return ImportReport(
        dry_run=dry_run,
        rows=parsed.rows,
        orders=len(parsed.orders),
        created=0 if parsed.problems else len(new),
        skipped=sorted(existing),
        first_code=first,
        last_code=last,
        error_count=len(parsed.problems),
        errors=[
            ImportProblem(row=p.row, column=p.column, message=p.message(language))
            for p in parsed.problems[:MAX_REPORTED]
        ],
    )


def _sellers(tx: TenantTx, parsed: ParsedFile) -> dict[str, uuid.UUID]:
    """Seller emails in the file to user ids; an unknown one is a problem on its row."""
    emails = sorted({imported.seller_email for imported in parsed.orders if imported.seller_email})
    if not emails:
        return {}
    found = {row.email: row.id for row in tx.conn.execute(_SELLERS, {"org": tx.ctx.org_id, "emails": emails})}
    for imported in parsed.orders:
        if imported.seller_email and imported.seller_email not in found:
            parsed.add(imported.row, "seller_email", "unknown_seller")
    return found


def _write(tx: TenantTx, new: Sequence[ImportedOrder], sellers: Sequence[uuid.UUID], now: datetime) -> int:
    """Store the orders and their audit events; returns the first order number."""
    orders = [(uuid.uuid4(), imported.order) for imported in new]
    first = store.allocate_numbers(tx, len(orders))
    customer_ids = store.upsert_customers(tx, [order.customer for _, order in orders], now)
    duplicates = store.find_duplicates(tx, orders, now)
    store.insert_orders(
        tx,
        orders,
        seller_ids=sellers,
        first_number=first,
        customer_ids=customer_ids,
        duplicates=duplicates,
        now=now,
    )
    audit.record_many(
        tx,
        "order.created",
        "order",
        [
            (order_id, None, created_event(order, first + index, duplicate, source="csv"))
            for index, ((order_id, order), duplicate) in enumerate(zip(orders, duplicates, strict=True))
        ],
    )
    return first
