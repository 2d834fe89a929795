"""Recording, editing, reviewing and deleting payments.

Who may do what (the route's permission comes first, lib/permissions):
- SELLER records payments on the orders it sees (its own), and edits or deletes them while they
  are still submitted;
- SUPERVISOR and ADMIN record, verify or reject any payment, record refunds, and edit or delete
  payments after review (audited as such);
- LOGISTICS never reaches a payment: the only money a rider sees is the amount to collect, and
  what they collected themselves (lib.payments.collections).

Every change locks the order first, then the payment, and is audited on the order's timeline
with before and after values. The order's payment status follows by itself: the database derives
it from verified payments (db/versions/0004), never from what a client sends.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import TenantTx
from lib.db.pipeline import tenant_read
from lib.db.versioned import require_version, update_versioned
from lib.http.errors import ApiError, object_not_found
from lib.orders import store as orders
from lib.orders.problems import Problems
from lib.orders.store import Scope
from lib.payments import receipts, views
from lib.payments.schemas import NEEDS_OPERATION_NUMBER, Payment, PaymentChange, PaymentIn, PaymentList, ReviewIn
from lib.storage import deletions
from lib.tenancy import Role, TenantContext

# A paid_at this far ahead of the server clock is a typo, not a payment.
CLOCK_SKEW = timedelta(minutes=10)
_OFFICE = frozenset({Role.ADMIN, Role.SUPERVISOR})

_INSERT = text(
    f"""
    INSERT INTO payments (
        id, org_id, order_id, kind, method, amount_cents, currency, operation_number, payer_name, paid_at, notes,
        review_status, reviewed_by, reviewed_at, duplicate_of, recorded_by, collected_by, created_at, updated_at)
    VALUES (
        :id, :org, :order_id, :kind, :method, :amount_cents, :currency, :operation_number, :payer_name, :paid_at,
        :notes, :review_status, :reviewed_by, :reviewed_at, :duplicate_of, :recorded_by, :collected_by, :now, :now)
    RETURNING {views.RETURNED_COLUMNS}
    """
)
_ORDER_OF = text("SELECT order_id FROM payments WHERE org_id = :org AND id = :id")
_LOCK_PAYMENT = text(
    f"""
    SELECT {views.PAYMENT_COLUMNS}, s.status AS settlement_status
    FROM payments p LEFT JOIN settlements s ON s.org_id = p.org_id AND s.id = p.settlement_id
    WHERE p.org_id = :org AND p.id = :id FOR NO KEY UPDATE OF p
    """
)
_TOUCH_SETTLEMENT = text("UPDATE settlements SET version = version + 1 WHERE org_id = :org AND id = :id")
_DELETE = text("DELETE FROM payments WHERE org_id = :org AND id = :id AND version = :version")
# Columns `_update` may set: statements are built from these names only, never from input.
UPDATABLE = frozenset(
    {
        "method",
        "amount_cents",
        "operation_number",
        "payer_name",
        "paid_at",
        "notes",
        "review_status",
        "review_reason",
        "override_reason",
        "reviewed_by",
        "reviewed_at",
        "duplicate_of",
        "settlement_id",
        "proof_key",
        "proof_content_type",
        "proof_bytes",
        "proof_sha256",
        "proof_original_sha256",
        "proof_filename",
        "proof_uploaded_at",
        "proof_duplicate_of",
    }
)


def not_found_for(ctx: TenantContext, kind: str, object_id: uuid.UUID) -> ApiError:
    return object_not_found(kind, object_id, ctx.actor.user_id)


# --- reading ---------------------------------------------------------------------------------------


def _visible(ctx: TenantContext, where: str) -> tuple[str, dict[str, Any]]:
    clause, params = Scope.for_context(ctx).sql()
    statement = (
        f"SELECT {views.PAYMENT_COLUMNS} FROM payments p JOIN orders o ON o.org_id = p.org_id AND o.id = p.order_id "
        f"WHERE p.org_id = :org AND {where}{clause}"
    )
    return statement, params


def visible(ctx: TenantContext, payment_id: uuid.UUID) -> Any:
    """The payment's row, if the caller may see it (its order is in the caller's scope)."""
    statement, params = _visible(ctx, "p.id = :id")
    [rows] = tenant_read(ctx, (text(statement), {"org": ctx.org_id, "id": payment_id, **params}))
    if not rows:
        raise not_found_for(ctx, "payment", payment_id)
    return rows[0]


def detail(ctx: TenantContext, payment_id: uuid.UUID) -> Payment:
    return views.payment(visible(ctx, payment_id))


def for_order(ctx: TenantContext, order_id: uuid.UUID) -> PaymentList:
    clause, scope = Scope.for_context(ctx).sql()
    order = text(
        f"SELECT o.paid_cents, o.refunded_cents, o.payment_status FROM orders o "
        f"WHERE o.org_id = :org AND o.id = :id{clause}"
    )
    payments = text(
        f"SELECT {views.PAYMENT_COLUMNS} FROM payments p WHERE p.org_id = :org AND p.order_id = :id "
        "ORDER BY p.created_at, p.id"
    )
    [found, rows] = tenant_read(
        ctx, (order, {"org": ctx.org_id, "id": order_id, **scope}), (payments, {"org": ctx.org_id, "id": order_id})
    )
    if not found:
        raise not_found_for(ctx, "order", order_id)
    totals = found[0]
    return PaymentList(
        payments=[views.payment(row) for row in rows],
        paid_cents=totals.paid_cents,
        refunded_cents=totals.refunded_cents,
        payment_status=totals.payment_status,
    )


# --- recording -----------------------------------------------------------------------------------


def lock_order(tx: TenantTx, order_id: uuid.UUID) -> Any:
    row = orders.lock(tx, order_id, Scope.for_context(tx.ctx))
    if row is None:
        raise not_found_for(tx.ctx, "order", order_id)
    return row


def create(tx: TenantTx, order_id: uuid.UUID, data: PaymentIn, now: datetime) -> uuid.UUID:
    actor = tx.ctx.actor
    order = lock_order(tx, order_id)
    if data.kind == "refund" and actor.role not in _OFFICE:
        raise ApiError("forbidden", 403)
    problems = Problems()
    currency = data.currency or order.currency
    if currency != order.currency:
        problems.add("$.currency", "currency_mismatch", currency=order.currency)
    if data.kind == "payment" and data.method == "cash_on_delivery":
        # Cash changes hands at the door: the rider records it as a collection.
        problems.add("$.method", "cash_is_collected")
    number = _operation_number(data.method, data.operation_number, problems)
    if data.paid_at > now + CLOCK_SKEW:
        problems.add("$.paid_at", "in_future")
    problems.raise_if_any()

    payment_id = uuid.uuid4()
    duplicate = None
    if number is not None and data.kind == "payment":
        receipts.lock_operation(tx, data.method, number)
        duplicate = receipts.same_operation(tx, payment_id, data.method, number)
    refund = data.kind == "refund"  # recorded by the office, which is who would verify it
    row = tx.conn.execute(
        _INSERT,
        {
            "id": payment_id,
            "org": tx.ctx.org_id,
            "order_id": order_id,
            "kind": data.kind,
            "method": data.method,
            "amount_cents": data.amount_cents,
            "currency": currency,
            "operation_number": number,
            "payer_name": data.payer_name.strip() if data.payer_name else None,
            "paid_at": data.paid_at,
            "notes": data.notes.strip(),
            "review_status": "verified" if refund else "submitted",
            "reviewed_by": actor.user_id if refund else None,
            "reviewed_at": now if refund else None,
            "duplicate_of": duplicate,
            "recorded_by": actor.user_id,
            "collected_by": None,
            "now": now,
        },
    ).one()
    audit.record(
        tx,
        "payment.refunded" if refund else "payment.created",
        Target("order", order_id),
        after=views.audit_snapshot(row) | {"duplicate_of": str(duplicate) if duplicate else None},
    )
    return payment_id


def _operation_number(
    method: str, raw: str | None, problems: Problems, field: str = "$.operation_number"
) -> str | None:
    if raw is None:
        if method in NEEDS_OPERATION_NUMBER:
            problems.add(field, "operation_number_required")
        return None
    number = receipts.canonical_operation_number(raw)
    if number is None:
        problems.add(field, "operation_number_invalid")
    return number


# --- changing ------------------------------------------------------------------------------------


def _locked(tx: TenantTx, payment_id: uuid.UUID) -> Any:
    row = tx.conn.execute(_LOCK_PAYMENT, {"org": tx.ctx.org_id, "id": payment_id}).one_or_none()
    if row is None:
        raise not_found_for(tx.ctx, "payment", payment_id)
    return row


def lock_payment(tx: TenantTx, payment_id: uuid.UUID) -> tuple[Any, Any]:
    """The payment's order and the payment, locked in that order, if the caller sees them."""
    order_id = tx.conn.execute(_ORDER_OF, {"org": tx.ctx.org_id, "id": payment_id}).scalar_one_or_none()
    if order_id is None:
        raise not_found_for(tx.ctx, "payment", payment_id)
    order = orders.lock(tx, order_id, Scope.for_context(tx.ctx))
    if order is None:
        raise not_found_for(tx.ctx, "payment", payment_id)
    return order, _locked(tx, payment_id)


def check_changeable(tx: TenantTx, row: Any) -> None:
    """May the caller change this payment (edit, delete, replace its proof) at all?"""
    role = tx.ctx.actor.role
    if row.settlement_status == "closed":
        raise ApiError("settlement_closed", 409)
    if role not in _OFFICE:
        # A seller's payments are theirs to fix until someone reviews them; a rider's
        # collections are fixed by the office before the settlement closes.
        if row.review_status != "submitted" or row.collected_by is not None or row.kind != "payment":
            raise ApiError("payment_reviewed", 403)
    elif row.review_status == "rejected":
        raise ApiError("payment_rejected", 409)


def touch_settlement(tx: TenantTx, settlement_id: uuid.UUID | None) -> None:
    """A collection in an open settlement changed: so does the settlement's version, and a close
    prepared before the change fails its If-Match instead of verifying figures nobody saw."""
    if settlement_id is not None:
        tx.conn.execute(_TOUCH_SETTLEMENT, {"org": tx.ctx.org_id, "id": settlement_id})


def update(tx: TenantTx, row: Any, changes: dict[str, Any], now: datetime) -> Any:
    """Apply `changes` to the locked payment `row`; the payment as it is after them."""
    after = update_versioned(tx, "payments", UPDATABLE, row.id, row.version, changes, now, views.RETURNED_COLUMNS)
    if after is None:
        raise ApiError("version_conflict", 409)
    return after


def edit(tx: TenantTx, payment_id: uuid.UUID, if_match: int | None, change: PaymentChange, now: datetime) -> None:
    order, row = lock_payment(tx, payment_id)
    check_changeable(tx, row)
    require_version(row.version, if_match)
    problems = Problems()
    changes: dict[str, Any] = {}
    method = row.method if change.method is msgspec.UNSET else change.method
    if change.method is not msgspec.UNSET:
        door_methods = ("cash_on_delivery", "yape", "plin")
        if row.collected_by is not None and method not in door_methods:
            problems.add("$.method", "not_a_door_method")
        elif row.collected_by is None and row.kind == "payment" and method == "cash_on_delivery":
            problems.add("$.method", "cash_is_collected")
        changes["method"] = method
    if change.operation_number is not msgspec.UNSET:
        changes["operation_number"] = _operation_number(method, change.operation_number, problems)
    elif "method" in changes and method in NEEDS_OPERATION_NUMBER and row.operation_number is None:
        problems.add("$.operation_number", "operation_number_required")
    if change.amount_cents is not msgspec.UNSET:
        changes["amount_cents"] = change.amount_cents
    if change.paid_at is not msgspec.UNSET:
        if change.paid_at > now + CLOCK_SKEW:
            problems.add("$.paid_at", "in_future")
        changes["paid_at"] = change.paid_at
    if change.payer_name is not msgspec.UNSET:
        changes["payer_name"] = change.payer_name.strip() if change.payer_name else None
    if change.notes is not msgspec.UNSET:
        changes["notes"] = change.notes.strip()
    problems.raise_if_any()
    changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if not changes:
        return
    number = changes.get("operation_number", row.operation_number)
    if ("method" in changes or "operation_number" in changes) and row.kind == "payment":
        if number is not None:
            receipts.lock_operation(tx, method, number)
        changes["duplicate_of"] = receipts.same_operation(tx, row.id, method, number)
    after = update(tx, row, changes, now)
    touch_settlement(tx, row.settlement_id)
    verified = row.review_status == "verified"
    audit.record(
        tx,
        "payment.updated_after_review" if verified else "payment.updated",
        Target("order", order.id),
        before=views.audit_snapshot(row),
        after=views.audit_snapshot(after),
    )


def delete(tx: TenantTx, payment_id: uuid.UUID, if_match: int | None, now: datetime) -> str | None:
    """Delete a payment; returns its proof's storage key for the caller to remove after commit."""
    order, row = lock_payment(tx, payment_id)
    check_changeable(tx, row)
    require_version(row.version, if_match)
    result = tx.conn.execute(_DELETE, {"org": tx.ctx.org_id, "id": payment_id, "version": row.version})
    if not result.rowcount:
        raise ApiError("version_conflict", 409)
    touch_settlement(tx, row.settlement_id)
    if row.proof_key is not None:
        deletions.schedule_deletion(tx, row.proof_key, now)
    audit.record(tx, "payment.deleted", Target("order", order.id), before=views.audit_snapshot(row))
    return str(row.proof_key) if row.proof_key else None


# --- review ----------------------------------------------------------------------------------------


def review(tx: TenantTx, payment_id: uuid.UUID, if_match: int | None, decision: ReviewIn, now: datetime) -> None:
    order, row = lock_payment(tx, payment_id)
    require_version(row.version, if_match)
    if row.review_status != "submitted":
        raise ApiError("payment_already_reviewed", 409, params={"status": row.review_status})
    if row.collected_by is not None:
        # Cash is verified when the office counts it: by closing the rider's settlement.
        raise ApiError("collection_settles", 409)
    problems = Problems()
    if decision.decision == "reject":
        if decision.reason is None:
            problems.add("$.reason", "reason_required")
        if decision.override_reason is not None:
            problems.add("$.override_reason", "not_for_this_step")
        problems.raise_if_any()
        rejected = update(
            tx,
            row,
            {
                "review_status": "rejected",
                "review_reason": decision.reason,
                "reviewed_by": tx.ctx.actor.user_id,
                "reviewed_at": now,
            },
            now,
        )
        audit.record(
            tx,
            "payment.rejected",
            Target("order", order.id),
            before=views.audit_snapshot(row),
            after=views.audit_snapshot(rejected) | {"reason": decision.reason},
        )
        return

    if decision.reason is not None:
        problems.add("$.reason", "not_for_this_step")
    if row.currency != order.currency:
        problems.add("$", "currency_mismatch", currency=order.currency)
    problems.raise_if_any()
    # Checked now, not only when recorded: the receipt's first use may have come later.
    if row.operation_number is not None:
        receipts.lock_operation(tx, row.method, row.operation_number)
    same_operation = receipts.same_operation(tx, row.id, row.method, row.operation_number)
    same_file = receipts.same_file(tx, row.id, row.proof_original_sha256)
    suspect = same_operation is not None or same_file is not None
    if suspect and decision.override_reason is None:
        raise ApiError(
            "duplicate_receipt",
            409,
            params={"other": str(same_operation or same_file)},
        )
    if not suspect and decision.override_reason is not None:
        problems.add("$.override_reason", "nothing_to_override")
        problems.raise_if_any()
    verified = update(
        tx,
        row,
        {
            "review_status": "verified",
            "reviewed_by": tx.ctx.actor.user_id,
            "reviewed_at": now,
            "override_reason": decision.override_reason,
            "duplicate_of": same_operation,
            "proof_duplicate_of": same_file,
        },
        now,
    )
    after = views.audit_snapshot(verified)
    audit.record(tx, "payment.verified", Target("order", order.id), before=views.audit_snapshot(row), after=after)
    if suspect:
        audit.record(
            tx,
            "payment.duplicate_overridden",
            Target("order", order.id),
            after={
                "payment_id": str(row.id),
                "same_operation_as": str(same_operation) if same_operation else None,
                "same_file_as": str(same_file) if same_file else None,
                "reason": decision.override_reason,
            },
        )
