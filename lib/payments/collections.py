"""Cash on delivery: what a rider collects at the door, and settling it with the office.

1. The rider (LOGISTICS) delivers a cash-on-delivery order and records what they collected:
   an amount, in cash or, if the customer paid at the door by Yape or Plin, by that method with
   its operation number. It is a payment like any other, marked as collected by the rider, and
   it stays *submitted*: delivering an order, or saying cash was collected, pays nothing.
2. A SUPERVISOR (or ADMIN) opens a settlement for the rider when they hand the cash over. It
   takes the rider's delivered cash-on-delivery orders not yet settled (with what each was to
   collect: its total less verified prepayments) and their unsettled collections; collections
   recorded while it is open join it (and change its version).
3. Closing it records the cash handed over and verifies every collection in it, which is when
   those orders count as paid. Expected vs collected vs handed over is computed, never typed:
   a rider who collected less than expected, or handed over less cash than collected, is
   flagged, and closing a flagged settlement needs a reason. Everything is audited.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import TenantTx
from lib.db.pipeline import tenant_read
from lib.db.versioned import require_version
from lib.http.errors import ApiError
from lib.orders.problems import Problems
from lib.orders.store import LIMA, order_code
from lib.payments import receipts, service, views
from lib.payments.schemas import (
    NEEDS_OPERATION_NUMBER,
    Collection,
    CollectionIn,
    RiderDay,
    RiderDayReport,
    Settlement,
    SettlementClose,
    SettlementIn,
    SettlementList,
    SettlementOrder,
    SettlementSummary,
)
from lib.tenancy import Role, TenantContext

_INSERT = text(
    """
    INSERT INTO payments (
        id, org_id, order_id, kind, method, amount_cents, currency, operation_number, paid_at, notes,
        duplicate_of, recorded_by, collected_by, settlement_id, created_at, updated_at)
    VALUES (
        :id, :org, :order_id, 'payment', :method, :amount_cents, :currency, :operation_number, :paid_at, :notes,
        :duplicate_of, :recorded_by, :collected_by, :settlement_id, :now, :now)
    RETURNING id, order_id, amount_cents, currency, method, operation_number, paid_at, version
    """
)
_OPEN_SETTLEMENT = text(
    """
    SELECT id FROM settlements
    WHERE org_id = :org AND rider_id = :rider AND currency = :currency AND status = 'open' FOR NO KEY UPDATE
    """
)
# What a delivered cash-on-delivery order was to collect: its total less verified prepayments.
_EXPECTED = "GREATEST(o.total_cents - GREATEST(o.prepaid_cents, 0), 0)"
_ATTACH_ORDERS = text(
    f"""
    INSERT INTO settlement_orders (org_id, settlement_id, order_id, expected_cents)
    SELECT o.org_id, :settlement, o.id, {_EXPECTED}
    FROM orders o
    WHERE o.org_id = :org AND o.rider_id = :rider AND o.status = 'delivered' AND o.collect_on_delivery
      AND o.currency = :currency AND (CAST(:order_id AS uuid) IS NULL OR o.id = :order_id)
    ON CONFLICT (org_id, order_id) DO NOTHING
    """
)
_ATTACH_COLLECTIONS = text(
    """
    UPDATE payments SET settlement_id = :settlement, version = version + 1, updated_at = :now
    WHERE org_id = :org AND collected_by = :rider AND settlement_id IS NULL AND currency = :currency
      AND review_status = 'submitted'
    """
)
_RIDER = text("SELECT 1 FROM users WHERE org_id = :org AND id = :id AND role = 'LOGISTICS'")
_ALLOCATE = text(
    "UPDATE organizations SET next_settlement_number = next_settlement_number + 1 WHERE id = :org "
    "RETURNING next_settlement_number - 1"
)
_INSERT_SETTLEMENT = text(
    """
    INSERT INTO settlements (id, org_id, number, rider_id, currency, notes, created_by, created_at)
    VALUES (:id, :org, :number, :rider, :currency, :notes, :actor, :now)
    """
)
_SETTLEMENT = text(
    """
    SELECT s.*,
        (SELECT COALESCE(sum(so.expected_cents), 0)::bigint FROM settlement_orders so
         WHERE so.org_id = s.org_id AND so.settlement_id = s.id) AS expected_cents,
        (SELECT COALESCE(sum(p.amount_cents) FILTER (WHERE p.method = 'cash_on_delivery'), 0)::bigint FROM payments p
         WHERE p.org_id = s.org_id AND p.settlement_id = s.id) AS cash_cents,
        (SELECT COALESCE(sum(p.amount_cents) FILTER (WHERE p.method <> 'cash_on_delivery'), 0)::bigint FROM payments p
         WHERE p.org_id = s.org_id AND p.settlement_id = s.id) AS digital_cents
    FROM settlements s WHERE s.org_id = :org AND s.id = :id
    """
)
_SETTLEMENT_ORDERS = text(
    """
    SELECT so.order_id, o.number, so.expected_cents FROM settlement_orders so
    JOIN orders o ON o.org_id = so.org_id AND o.id = so.order_id
    WHERE so.org_id = :org AND so.settlement_id = :id ORDER BY o.number
    """
)
_SETTLEMENT_COLLECTIONS = text(
    """
    SELECT id, order_id, amount_cents, currency, method, operation_number, paid_at, version FROM payments
    WHERE org_id = :org AND settlement_id = :id ORDER BY paid_at, id
    """
)
_LOCK_SETTLEMENT = text("SELECT * FROM settlements WHERE org_id = :org AND id = :id FOR NO KEY UPDATE")
_LOCK_ORDERS = text(
    """
    SELECT o.id FROM orders o WHERE o.org_id = :org AND o.id IN (
        SELECT p.order_id FROM payments p WHERE p.org_id = :org AND p.settlement_id = :id)
    ORDER BY o.id FOR NO KEY UPDATE
    """
)
_VERIFY_COLLECTIONS = text(
    """
    UPDATE payments SET review_status = 'verified', reviewed_by = :actor, reviewed_at = :now,
        version = version + 1, updated_at = :now
    WHERE org_id = :org AND settlement_id = :id AND review_status = 'submitted'
    RETURNING id, order_id, amount_cents, method
    """
)
_CLOSE = text(
    """
    UPDATE settlements SET status = 'closed', handed_over_cents = :handed_over, closed_by = :actor,
        closed_at = :now, close_reason = :reason, version = version + 1
    WHERE org_id = :org AND id = :id AND version = :version
    """
)
_LIST = text(
    """
    SELECT id, number, rider_id, currency, status, created_at, closed_at FROM settlements
    WHERE org_id = :org AND (CAST(:rider AS uuid) IS NULL OR rider_id = :rider)
      AND (CAST(:status AS text) IS NULL OR status = :status)
    ORDER BY created_at DESC, id DESC LIMIT 200
    """
)


def settlement_code(number: int) -> str:
    return f"LIQ-{number:06d}"


# --- collections -----------------------------------------------------------------------------------


def record(tx: TenantTx, order_id: uuid.UUID, data: CollectionIn, now: datetime) -> Collection:
    actor = tx.ctx.actor
    order = service.lock_order(tx, order_id)
    if actor.role == Role.LOGISTICS and order.rider_id != actor.user_id:
        raise ApiError("not_your_delivery", 403)
    if not order.collect_on_delivery:
        raise ApiError("not_cash_on_delivery", 409)
    if order.status != "delivered" or order.rider_id is None:
        raise ApiError("collection_not_delivered", 409, params={"status": order.status})
    problems = Problems()
    number = None
    if data.operation_number is not None:
        number = receipts.canonical_operation_number(data.operation_number)
        if number is None:
            problems.add("$.operation_number", "operation_number_invalid")
    elif data.method in NEEDS_OPERATION_NUMBER:
        problems.add("$.operation_number", "operation_number_required")
    collected_at = data.collected_at or now
    if collected_at > now + service.CLOCK_SKEW:
        problems.add("$.collected_at", "in_future")
    problems.raise_if_any()

    payment_id = uuid.uuid4()
    duplicate = None
    if number is not None:
        receipts.lock_operation(tx, data.method, number)
        duplicate = receipts.same_operation(tx, payment_id, data.method, number)
    params = {"org": tx.ctx.org_id, "rider": order.rider_id, "currency": order.currency}
    settlement = tx.conn.execute(_OPEN_SETTLEMENT, params).scalar_one_or_none()
    if settlement is not None:
        # Joins the rider's open settlement, whose version changes: a close prepared before it
        # arrived now fails its If-Match instead of leaving this collection out unseen.
        tx.conn.execute(_ATTACH_ORDERS, {**params, "settlement": settlement, "order_id": order_id})
        service.touch_settlement(tx, settlement)
    row = tx.conn.execute(
        _INSERT,
        {
            "id": payment_id,
            "org": tx.ctx.org_id,
            "order_id": order_id,
            "method": data.method,
            "amount_cents": data.amount_cents,
            "currency": order.currency,
            "operation_number": number,
            "paid_at": collected_at,
            "notes": data.notes.strip(),
            "duplicate_of": duplicate,
            "recorded_by": actor.user_id,
            "collected_by": order.rider_id,
            "settlement_id": settlement,
            "now": now,
        },
    ).one()
    audit.record(
        tx,
        "payment.collected",
        Target("order", order_id),
        after={
            "payment_id": str(payment_id),
            "method": data.method,
            "amount_cents": data.amount_cents,
            "currency": order.currency,
            "operation_number": number,
            "collected_by": str(order.rider_id),
            "settlement_id": str(settlement) if settlement else None,
            "duplicate_of": str(duplicate) if duplicate else None,
        },
    )
    return views.collection(row)


# --- settlements -----------------------------------------------------------------------------------


def open_settlement(tx: TenantTx, data: SettlementIn, now: datetime) -> uuid.UUID:
    org = tx.ctx.org_id
    problems = Problems()
    if tx.conn.execute(_RIDER, {"org": org, "id": data.rider_id}).first() is None:
        problems.add("$.rider_id", "not_a_rider")
    problems.raise_if_any()
    tx.lock_key(f"settlement:{data.rider_id}:{data.currency}")
    params = {"org": org, "rider": data.rider_id, "currency": data.currency}
    if tx.conn.execute(_OPEN_SETTLEMENT, params).first() is not None:
        raise ApiError("settlement_already_open", 409)
    number = tx.conn.execute(_ALLOCATE, {"org": org}).scalar_one()
    settlement_id = uuid.uuid4()
    tx.conn.execute(
        _INSERT_SETTLEMENT,
        {
            **params,
            "id": settlement_id,
            "number": number,
            "notes": data.notes.strip(),
            "actor": tx.ctx.actor.user_id,
            "now": now,
        },
    )
    tx.conn.execute(_ATTACH_ORDERS, {**params, "settlement": settlement_id, "order_id": None})
    tx.conn.execute(_ATTACH_COLLECTIONS, {**params, "settlement": settlement_id, "now": now})
    figures = _figures(tx.conn.execute(_SETTLEMENT, {"org": org, "id": settlement_id}).one())
    audit.record(
        tx,
        "settlement.opened",
        Target("settlement", settlement_id),
        after={"code": settlement_code(number), "rider_id": str(data.rider_id), "currency": data.currency, **figures},
    )
    return settlement_id


def _figures(row: Any, handed_over: int | None = None) -> dict[str, Any]:
    handed = row.handed_over_cents if handed_over is None else handed_over
    closing = handed_over is not None or row.status == "closed"
    collected = row.cash_cents + row.digital_cents
    gap = max(row.expected_cents - collected, 0)
    shortfall = row.cash_cents - handed if closing else 0
    return {
        "expected_cents": row.expected_cents,
        "collected_cash_cents": row.cash_cents,
        "collected_digital_cents": row.digital_cents,
        "handed_over_cents": handed,
        "collection_gap_cents": gap,
        "shortfall_cents": shortfall,
        "flagged": gap > 0 or shortfall != 0,
    }


def close(tx: TenantTx, settlement_id: uuid.UUID, if_match: int | None, data: SettlementClose, now: datetime) -> None:
    org = tx.ctx.org_id
    locked = tx.conn.execute(_LOCK_SETTLEMENT, {"org": org, "id": settlement_id}).one_or_none()
    if locked is None:
        raise service.not_found_for(tx.ctx, "settlement", settlement_id)
    require_version(locked.version, if_match)
    if locked.status != "open":
        raise ApiError("settlement_closed", 409)
    # Orders before payments, in id order: the same lock order as every other payment change.
    tx.conn.execute(_LOCK_ORDERS, {"org": org, "id": settlement_id}).all()
    row = tx.conn.execute(_SETTLEMENT, {"org": org, "id": settlement_id}).one()
    figures = _figures(row, data.handed_over_cents)
    if figures["flagged"] and data.reason is None:
        problems = Problems()
        problems.add(
            "$.reason",
            "settlement_needs_reason",
            **{k: figures[k] for k in ("collection_gap_cents", "shortfall_cents")},
        )
        problems.raise_if_any()
    verified = tx.conn.execute(
        _VERIFY_COLLECTIONS, {"org": org, "id": settlement_id, "actor": tx.ctx.actor.user_id, "now": now}
    ).all()
    result = tx.conn.execute(
        _CLOSE,
        {
            "org": org,
            "id": settlement_id,
            "version": locked.version,
            "handed_over": data.handed_over_cents,
            "actor": tx.ctx.actor.user_id,
            "now": now,
            "reason": data.reason,
        },
    )
    if not result.rowcount:
        raise ApiError("version_conflict", 409)
    audit.record(
        tx,
        "settlement.closed",
        Target("settlement", settlement_id),
        before={"status": "open"},
        after={"status": "closed", "reason": data.reason, **figures},
    )
    audit.record_many(
        tx,
        "payment.verified",
        "order",
        [
            (
                p.order_id,
                {"payment_id": str(p.id), "review_status": "submitted"},
                {
                    "payment_id": str(p.id),
                    "review_status": "verified",
                    "amount_cents": p.amount_cents,
                    "method": p.method,
                    "settlement_id": str(settlement_id),
                },
            )
            for p in verified
        ],
    )


def detail(ctx: TenantContext, settlement_id: uuid.UUID) -> Settlement:
    params = {"org": ctx.org_id, "id": settlement_id}
    [found, order_rows, collection_rows] = tenant_read(
        ctx, (_SETTLEMENT, params), (_SETTLEMENT_ORDERS, params), (_SETTLEMENT_COLLECTIONS, params)
    )
    if not found:
        raise service.not_found_for(ctx, "settlement", settlement_id)
    row = found[0]
    figures = _figures(row)
    return Settlement(
        id=row.id,
        code=settlement_code(row.number),
        rider_id=row.rider_id,
        currency=row.currency,
        status=row.status,
        orders=[
            SettlementOrder(order_id=o.order_id, code=order_code(o.number), expected_cents=o.expected_cents)
            for o in order_rows
        ],
        collections=[views.collection(c) for c in collection_rows],
        notes=row.notes,
        close_reason=row.close_reason,
        created_by=row.created_by,
        created_at=row.created_at,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        version=row.version,
        **figures,
    )


def listing(ctx: TenantContext, rider_id: uuid.UUID | None, status: str | None) -> SettlementList:
    [rows] = tenant_read(ctx, (_LIST, {"org": ctx.org_id, "rider": rider_id, "status": status}))
    return SettlementList(
        settlements=[
            SettlementSummary(
                id=r.id,
                code=settlement_code(r.number),
                rider_id=r.rider_id,
                currency=r.currency,
                status=r.status,
                created_at=r.created_at,
                closed_at=r.closed_at,
            )
            for r in rows
        ]
    )


# --- the day's report per rider --------------------------------------------------------------------

_REPORT = text(
    f"""
    WITH delivered AS (
        SELECT o.rider_id, o.currency, count(*) AS orders,
               COALESCE(sum({_EXPECTED}) FILTER (WHERE o.collect_on_delivery), 0)::bigint AS to_collect
        FROM orders o
        WHERE o.org_id = :org AND o.status = 'delivered' AND o.rider_id IS NOT NULL
          AND o.status_changed_at >= :start AND o.status_changed_at < :end
        GROUP BY o.rider_id, o.currency
    ), collected AS (
        SELECT p.collected_by AS rider_id, p.currency, sum(p.amount_cents)::bigint AS collected,
               COALESCE(sum(p.amount_cents) FILTER (
                   WHERE p.method = 'cash_on_delivery' AND (s.status IS NULL OR s.status = 'open')
               ), 0)::bigint AS pending
        FROM payments p LEFT JOIN settlements s ON s.org_id = p.org_id AND s.id = p.settlement_id
        WHERE p.org_id = :org AND p.collected_by IS NOT NULL AND p.paid_at >= :start AND p.paid_at < :end
        GROUP BY p.collected_by, p.currency
    ), handed AS (
        SELECT s.rider_id, s.currency, sum(s.handed_over_cents)::bigint AS handed_over
        FROM settlements s
        WHERE s.org_id = :org AND s.status = 'closed' AND s.closed_at >= :start AND s.closed_at < :end
        GROUP BY s.rider_id, s.currency
    ), riders AS (
        SELECT rider_id, currency FROM delivered UNION SELECT rider_id, currency FROM collected
        UNION SELECT rider_id, currency FROM handed
    )
    SELECT r.rider_id, u.full_name, r.currency, COALESCE(d.orders, 0) AS orders,
           COALESCE(d.to_collect, 0) AS to_collect, COALESCE(c.collected, 0) AS collected,
           COALESCE(h.handed_over, 0) AS handed_over, COALESCE(c.pending, 0) AS pending
    FROM riders r
    JOIN users u ON u.org_id = :org AND u.id = r.rider_id
    LEFT JOIN delivered d ON d.rider_id = r.rider_id AND d.currency = r.currency
    LEFT JOIN collected c ON c.rider_id = r.rider_id AND c.currency = r.currency
    LEFT JOIN handed h ON h.rider_id = r.rider_id AND h.currency = r.currency
    ORDER BY u.full_name, r.rider_id, r.currency
    """
)


def rider_day(ctx: TenantContext, day: date) -> RiderDayReport:
    """Per rider, for one day in Lima: orders delivered, what they were to collect, what was
    collected, what was handed over in settlements closed that day, and the cash collected that
    day still waiting for a closed settlement."""
    start = datetime.combine(day, time.min, tzinfo=LIMA)
    end = start + timedelta(days=1)
    [rows] = tenant_read(ctx, (_REPORT, {"org": ctx.org_id, "start": start, "end": end}))
    return RiderDayReport(
        day=day,
        riders=[
            RiderDay(
                rider_id=r.rider_id,
                rider_name=r.full_name,
                currency=r.currency,
                orders_delivered=r.orders,
                to_collect_cents=r.to_collect,
                collected_cents=r.collected,
                handed_over_cents=r.handed_over,
                pending_cents=r.pending,
            )
            for r in rows
        ],
    )
