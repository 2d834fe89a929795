"""What staff do with an order's Zeus shipment: see it, look at the failure's screenshot, retry.

Visibility follows the order's (lib/orders Scope): an order a caller cannot see has no shipment
for them either, with the same 404 as an id that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.config import settings
from lib.db import TenantTx, tenant_transaction
from lib.http.errors import ApiError, object_not_found
from lib.orders.lifecycle import Status
from lib.orders.schemas import Shipment
from lib.orders.store import Scope
from lib.orders.views import shipment as shipment_view
from lib.storage.objects import ObjectNotFound, StorageError
from lib.storage.selection import object_store
from lib.tenancy import TenantContext
from lib.zeus import shipments


@dataclass(frozen=True, slots=True)
class Screenshot:
    data: bytes
    filename: str


def view(ctx: TenantContext, order_id: uuid.UUID) -> Shipment:
    with tenant_transaction(ctx) as tx:
        _visible_order(tx, order_id)
        row = shipments.of_order(tx, order_id)
    if row is None:
        raise ApiError("not_found", 404)
    result = shipment_view(row)
    assert result is not None
    return result


def retry(ctx: TenantContext, order_id: uuid.UUID, now: datetime) -> Shipment:
    """Queue another registration: from needs_review, or for a Zeus order that never had one."""
    with tenant_transaction(ctx) as tx:
        order = _visible_order(tx, order_id, lock=True)
        if order.carrier != shipments.CARRIER or order.status != Status.DISPATCHED.value:
            raise ApiError("shipment_not_retryable", 409)
        if not shipments.request_retry(tx, order_id, now):
            raise ApiError("shipment_not_retryable", 409)
        row = shipments.of_order(tx, order_id)
    result = shipment_view(row)
    assert result is not None
    return result


def screenshot(ctx: TenantContext, order_id: uuid.UUID) -> Screenshot:
    with tenant_transaction(ctx) as tx:
        _visible_order(tx, order_id)
        row = shipments.of_order(tx, order_id)
    if row is None or row.screenshot_key is None:
        raise ApiError("not_found", 404)
    try:
        stored = object_store(settings()).get(row.screenshot_key)
    except ObjectNotFound:
        raise ApiError("not_found", 404) from None
    except StorageError:
        raise ApiError("storage_unavailable", 503) from None
    # The portal page shows a recipient's name, document, phone and address: audited like an export.
    with tenant_transaction(ctx) as tx:
        audit.record(tx, "shipment.screenshot_downloaded", Target("order", order_id), after={"carrier": row.carrier})
    stamp = row.last_sync_at.strftime("%Y%m%d-%H%M%S") if row.last_sync_at else "zeus"
    return Screenshot(data=stored.data, filename=f"zeus-{stamp}.png")


def _visible_order(tx: TenantTx, order_id: uuid.UUID, *, lock: bool = False) -> Any:
    clause, params = Scope.for_context(tx.ctx).sql()
    statement = text(
        f"SELECT o.status, o.carrier FROM orders o WHERE o.org_id = :org AND o.id = :id{clause}"
        + (" FOR NO KEY UPDATE" if lock else "")
    )
    row = tx.conn.execute(statement, {"org": tx.ctx.org_id, "id": order_id, **params}).one_or_none()
    if row is None:
        raise object_not_found("order", order_id, tx.ctx.actor.user_id)
    return row
