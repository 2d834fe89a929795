"""/api/orders/imports: POST a CSV file of orders (text/csv); `?dry_run=true` only checks it."""

from datetime import UTC, datetime

from lib import bursts
from lib.db import tenant_transaction
from lib.http import Call, Operation, function_app, requires
from lib.orders import csv_format, imports
from lib.orders.schemas import ImportQuery, ImportReport
from lib.permissions import Permission

# Vercel accepts request bodies up to 4.5 MB; a file near that size has ~15,000 rows.
MAX_FILE_BYTES = 4_000_000


def import_orders(call: Call[bytes, ImportQuery]) -> ImportReport:
    ctx, _ = call.require_tenant()
    bursts.spend(ctx, bursts.ORDER_IMPORT, datetime.now(UTC))
    parsed = csv_format.parse(call.body)
    with tenant_transaction(ctx) as tx:
        return imports.run(
            tx, parsed, call.body, dry_run=call.query.dry_run, now=datetime.now(UTC), language=call.language
        )


app = function_app(
    "/api/orders/imports",
    Operation(
        "POST",
        import_orders,
        access=requires(Permission.ORDERS_IMPORT),
        raw_body=("text/csv",),
        query=ImportQuery,
        response=ImportReport,
        errors=(413, 415, 429),
        summary="Import orders from a CSV file (all or nothing; already-imported references are skipped)",
    ),
    max_body_bytes=MAX_FILE_BYTES,
)
