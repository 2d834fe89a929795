"""Capturing, reading, editing and moving orders through their lifecycle.

Rules, in the order they are checked:
1. scope: an order the caller may not see is not found (404), like one that does not exist;
2. role: what the role may do to this order at all (403), the steps at the door only as the
   order's rider for LOGISTICS (lib.orders.lifecycle);
3. version: the If-Match version must be the current one (409 `version_conflict`, nothing
   written) -- checked again by the UPDATE itself, so a concurrent change cannot slip between;
4. state: the lifecycle allows the step from the order's status (409 `invalid_transition`), and
   the role may take it from there (403: a seller cancels only while the order is pending);
5. content: what the step or edit needs and whether the data is valid (422).
Every change is audited in its transaction with before and after values.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import TenantTx, tenant_transaction
from lib.db.pipeline import tenant_read, tenant_read_async
from lib.db.versioned import require_version
from lib.http.errors import ApiError, ErrorDetail, not_found, object_not_found
from lib.orders import store, views
from lib.orders.lifecycle import (
    EDITABLE,
    SELLER_EDITABLE,
    SELLER_OWN_ACTIONS,
    TRANSITIONS,
    Requirement,
    Status,
)
from lib.orders.problems import Problems
from lib.orders.schemas import (
    Customer,
    CustomerLookup,
    DeliveryOrder,
    DeliveryPage,
    Order,
    OrderChange,
    OrderIn,
    OrderListQuery,
    OrderPage,
    Timeline,
    TimelineEntry,
    TransitionIn,
)
from lib.orders.store import LIMA, Scope
from lib.orders.validation import NewOrder, address, customer, items, new_order, price, search_name, totals
from lib.peru import InvalidIdentifier, normalise_document, normalise_phone
from lib.tenancy import Role, TenantContext
from lib.zeus import shipments as zeus_shipments

_ACTIVE_RIDER = text(
    "SELECT 1 FROM users WHERE org_id = :org AND id = :id AND role = 'LOGISTICS' AND status = 'active'"
)
_TIMELINE = text(
    """
    SELECT a.occurred_at, a.action, a.actor_user_id, u.full_name, a.before, a.after
    FROM audit_events a LEFT JOIN users u ON u.org_id = a.org_id AND u.id = a.actor_user_id
    WHERE a.org_id = :org AND a.target_type = 'order' AND a.target_id = :target
    ORDER BY a.occurred_at, a.seq
    """
)
_CUSTOMER = text(
    "SELECT id, name, phone, document_type, document_number, email FROM customers WHERE org_id = :org AND "
)


def _not_found(ctx: TenantContext, order_id: uuid.UUID) -> ApiError:
    return object_not_found("order", order_id, ctx.actor.user_id)


# --- capture ---------------------------------------------------------------------------------------


def create(tx: TenantTx, data: OrderIn, now: datetime) -> uuid.UUID:
    seller = tx.ctx.actor.user_id
    if seller is None:
        raise ApiError("unauthorized", 401)
    order = new_order(data)
    store.lock_numbering(tx)
    if order.external_ref and store.existing_external_refs(tx, [order.external_ref]):
        raise ApiError("duplicate_external_ref", 409)
    first = store.allocate_numbers(tx, 1)
    customer_ids = store.upsert_customers(tx, [order.customer], now)
    order_id = uuid.uuid4()
    duplicates = store.find_duplicates(tx, [(order_id, order)], now)
    store.insert_orders(
        tx,
        [(order_id, order)],
        seller_ids=[seller],
        first_number=first,
        customer_ids=customer_ids,
        duplicates=duplicates,
        now=now,
    )
    audit.record(tx, "order.created", Target("order", order_id), after=created_event(order, first, duplicates[0]))
    return order_id


def created_event(order: NewOrder, number: int, duplicate: uuid.UUID | None, source: str = "api") -> dict[str, Any]:
    """What the audit trail keeps of a new order (its timeline's first entry)."""
    return {
        "order_code": store.order_code(number),
        "source": source,
        "external_ref": order.external_ref,
        "channel": order.channel,
        "total_cents": order.totals.total_cents,
        "currency": order.currency,
        "items": len(order.items),
        "duplicate_of": str(duplicate) if duplicate else None,
    }


# --- reading ---------------------------------------------------------------------------------------


def detail(ctx: TenantContext, order_id: uuid.UUID) -> Order | DeliveryOrder:
    [orders, item_rows, shipments] = tenant_read(ctx, *store.detail_statements(ctx, order_id, Scope.for_context(ctx)))
    if not orders:
        raise _not_found(ctx, order_id)
    return views.detail(ctx, orders[0], item_rows, shipments[0] if shipments else None)


async def page(ctx: TenantContext, query: OrderListQuery) -> OrderPage | DeliveryPage:
    """A page of the list, read on the event loop (the whole of GET /api/orders is this read)."""
    after = None
    if query.cursor is not None:
        after = store.decode_cursor(query.cursor)
        if after is None:
            detail = ErrorDetail(field="cursor", reason="not a cursor we issued")
            raise ApiError("invalid_cursor", 422, details=[detail])
    statement = store.page_statement(
        ctx, Scope.for_context(ctx), query, after, query.limit + 1, columns=views.SUMMARY_COLUMNS
    )
    [rows] = await tenant_read_async(ctx, statement, custom_plans=store.is_name_search(query))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = store.encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return views.page(ctx, rows, cursor)


def timeline(ctx: TenantContext, order_id: uuid.UUID) -> Timeline:
    scope_clause, scope_params = Scope.for_context(ctx).sql()
    visible = text(f"SELECT o.id FROM orders o WHERE o.org_id = :org AND o.id = :id{scope_clause}")
    [found, events] = tenant_read(
        ctx,
        (visible, {"org": ctx.org_id, "id": order_id, **scope_params}),
        (_TIMELINE, {"org": ctx.org_id, "target": str(order_id)}),
    )
    if not found:
        raise _not_found(ctx, order_id)
    return Timeline(
        events=[
            TimelineEntry(
                at=e.occurred_at,
                action=e.action,
                actor_id=e.actor_user_id,
                actor_name=e.full_name,
                before=e.before,
                after=e.after,
            )
            for e in events
        ]
    )


def lookup_customer(ctx: TenantContext, lookup: CustomerLookup) -> Customer:
    problems = Problems()
    clauses: list[str] = []
    params: dict[str, Any] = {"org": ctx.org_id}
    if lookup.phone is not None:
        try:
            params["phone"] = normalise_phone(lookup.phone)
            clauses.append("phone = :phone")
        except InvalidIdentifier as bad:
            problems.identifier("$.phone", bad)
    if lookup.document_type is not None and lookup.document_number is not None:
        try:
            params["document_number"] = normalise_document(lookup.document_type, lookup.document_number)
            params["document_type"] = lookup.document_type
            clauses.append("(document_type = :document_type AND document_number = :document_number)")
        except InvalidIdentifier as bad:
            problems.identifier("$.document_number", bad)
    elif lookup.phone is None:
        problems.add("$", "lookup_needs_key")
    problems.raise_if_any()
    statement = text(_CUSTOMER.text + "(" + " OR ".join(clauses) + ") ORDER BY updated_at DESC LIMIT 1")
    keys = sorted(key for key in ("phone", "document_number") if key in params)
    with tenant_transaction(ctx) as tx:
        row = tx.conn.execute(statement, params).one_or_none()
        # Who looked up whom, by what (never the phone or document typed): a run of misses is someone probing.
        audit.record(
            tx,
            "customer.looked_up",
            Target("customer", row.id if row else None),
            after={"by": keys, "found": bool(row)},
        )
    if row is None:
        raise not_found()
    return Customer(
        id=row.id,
        name=row.name,
        phone=row.phone,
        document_type=row.document_type,
        document_number=row.document_number,
        email=row.email,
    )


# --- editing ---------------------------------------------------------------------------------------


def _locked(tx: TenantTx, order_id: uuid.UUID) -> Any:
    row = store.lock(tx, order_id, Scope.for_context(tx.ctx))
    if row is None:
        raise _not_found(tx.ctx, order_id)
    return row


def _check_rider(tx: TenantTx, rider_id: uuid.UUID | None, problems: Problems, field: str) -> None:
    if rider_id is not None and tx.conn.execute(_ACTIVE_RIDER, {"org": tx.ctx.org_id, "id": rider_id}).first() is None:
        problems.add(field, "not_a_rider")


def edit(tx: TenantTx, order_id: uuid.UUID, if_match: int | None, change: OrderChange, now: datetime) -> None:
    row = _locked(tx, order_id)
    role = tx.ctx.actor.role
    assigning = change.rider_id is not msgspec.UNSET or change.carrier is not msgspec.UNSET
    if assigning and role not in (Role.ADMIN, Role.SUPERVISOR):
        raise ApiError("forbidden", 403)
    require_version(row.version, if_match)
    editable = SELLER_EDITABLE if role == Role.SELLER else EDITABLE
    if Status(row.status) not in editable:
        raise ApiError("order_not_editable", 409, params={"status": row.status})

    problems = Problems()
    changes: dict[str, Any] = {}
    if change.customer is not msgspec.UNSET:
        who = customer(change.customer, problems)
        if who is not None:
            customer_id = store.upsert_customers(tx, [who], now)[who.phone]
            changes.update(
                customer_id=customer_id,
                customer_name=who.name,
                search_name=search_name(who.name),
                customer_phone=who.phone,
                document_type=who.document_type,
                document_number=who.document_number,
                customer_email=who.email,
            )
    if change.address is not msgspec.UNSET:
        place = change.address
        address(place, problems)
        changes.update(
            department=place.department.strip(),
            province=place.province.strip(),
            district=place.district.strip(),
            ubigeo=place.ubigeo,
            address_line=place.line.strip(),
            address_reference=place.reference.strip(),
            latitude=place.latitude,
            longitude=place.longitude,
        )
    new_items = items(change.items) if change.items is not msgspec.UNSET else None
    repriced = change.discount_cents is not msgspec.UNSET or change.shipping_cents is not msgspec.UNSET
    if new_items is not None or repriced:
        discount = row.discount_cents if change.discount_cents is msgspec.UNSET else change.discount_cents
        shipping = row.shipping_cents if change.shipping_cents is msgspec.UNSET else change.shipping_cents
        money = (
            totals(new_items, discount, shipping, problems)
            if new_items is not None
            else price(row.subtotal_cents, discount, shipping, problems)
        )
        changes.update(
            subtotal_cents=money.subtotal_cents,
            discount_cents=money.discount_cents,
            shipping_cents=money.shipping_cents,
            total_cents=money.total_cents,
        )
    for name in ("channel", "delivery_date", "delivery_slot", "collect_on_delivery", "notes", "rider_id", "carrier"):
        value = getattr(change, name)
        if value is not msgspec.UNSET:
            changes[name] = value.strip() if name == "notes" else value
    if change.rider_id is not msgspec.UNSET:
        _check_rider(tx, change.rider_id, problems, "$.rider_id")
    problems.raise_if_any()
    if not changes and new_items is None:
        return
    phone = changes.get("customer_phone", row.customer_phone)
    refile = new_items is not None or phone != row.customer_phone
    if refile:  # while its stored items are still the old ones
        store.unfile_for_duplicates(tx, order_id, row.customer_phone, row.created_at)
    if not store.update(tx, order_id, row.version, changes, now):
        raise ApiError("version_conflict", 409)
    if "customer_name" in changes and changes["customer_name"] != row.customer_name:
        store.replace_name_words(tx, order_id, row.created_at, changes["customer_name"])
    if new_items is not None:
        store.replace_items(tx, order_id, new_items)
    if refile:
        store.file_for_duplicates(tx, order_id, phone, row.created_at)
    before = {name: getattr(row, name) for name in changes if hasattr(row, name)}
    assignment = {name for name in ("rider_id", "carrier") if name in changes}
    edited = {name: value for name, value in changes.items() if name not in assignment and name != "search_name"}
    if new_items is not None:
        edited["items"] = [
            {"sku": i.sku, "quantity": i.quantity, "unit_price_cents": i.unit_price_cents} for i in new_items
        ]
    if edited:
        audit.record(
            tx,
            "order.updated",
            Target("order", order_id),
            before={k: before.get(k) for k in edited if k != "items"},
            after=edited,
        )
    if assignment:
        audit.record(
            tx,
            "order.assigned",
            Target("order", order_id),
            before={k: before.get(k) for k in assignment},
            after={k: changes[k] for k in assignment},
        )


# --- lifecycle -------------------------------------------------------------------------------------


def transition(tx: TenantTx, order_id: uuid.UUID, if_match: int | None, step: TransitionIn, now: datetime) -> None:
    row = _locked(tx, order_id)
    rule = TRANSITIONS[step.action]
    role = tx.ctx.actor.role
    status = Status(row.status)
    if not rule.allows(tx.ctx.actor, row.rider_id):  # the role, and the rider for steps at the door
        raise ApiError("transition_forbidden", 403, params={"action": step.action})
    require_version(row.version, if_match)
    if status not in rule.sources:
        raise ApiError("invalid_transition", 409, params={"action": step.action, "status": status.value})
    if role == Role.SELLER and status not in SELLER_OWN_ACTIONS.get(step.action, frozenset()):
        # Possible from here, but not for a seller (whose own orders are all a seller sees).
        raise ApiError("transition_forbidden", 403, params={"action": step.action})

    problems = Problems()
    reason = step.reason.strip() if step.reason and step.reason.strip() else None
    changes: dict[str, Any] = {"status": rule.target.value, "status_changed_at": now, "status_reason": reason}
    if Requirement.REASON in rule.requires and reason is None:
        problems.add("$.reason", "reason_required")
    if Requirement.DELIVERY_DATE in rule.requires:
        if step.delivery_date is None:
            problems.add("$.delivery_date", "date_required")
        elif step.delivery_date < _today():
            problems.add("$.delivery_date", "date_in_past")
        else:
            changes["delivery_date"] = step.delivery_date
    elif step.delivery_date is not None:
        problems.add("$.delivery_date", "not_for_this_step")
    if (step.rider_id is not None or step.carrier is not None) and Requirement.COURIER not in rule.requires:
        # Couriers change on dispatch (or by an edit from the office), never on the side of another step.
        problems.add("$.rider_id", "not_for_this_step")
    elif step.rider_id is not None or step.carrier is not None:
        _check_rider(tx, step.rider_id, problems, "$.rider_id")
        changes["rider_id"], changes["carrier"] = step.rider_id, step.carrier
    if Requirement.COURIER in rule.requires:
        rider = changes.get("rider_id", row.rider_id)
        carrier = changes.get("carrier", row.carrier)
        if rider is None and carrier is None:
            problems.add("$.rider_id", "courier_required")
    problems.raise_if_any("transition_requirement")
    if rule.outcome is not None:
        changes["delivery_outcome"] = rule.outcome
        if rule.outcome == "failed" or rule.outcome == "delivered":
            changes["delivery_attempts"] = row.delivery_attempts + 1
    if not store.update(tx, order_id, row.version, changes, now):
        raise ApiError("version_conflict", 409)
    if rule.target == Status.CANCELLED:  # a cancelled order is nobody's duplicate
        store.unfile_for_duplicates(tx, order_id, row.customer_phone, row.created_at)
    if rule.target == Status.DISPATCHED and changes.get("carrier", row.carrier) == zeus_shipments.CARRIER:
        zeus_shipments.queue(tx, order_id, now)
    audit.record(
        tx,
        "order.status_changed",
        Target("order", order_id),
        before={
            "status": row.status,
            "rider_id": row.rider_id,
            "carrier": row.carrier,
            "delivery_date": row.delivery_date,
        },
        after={
            "action": step.action,
            "status": rule.target.value,
            "reason": reason,
            "rider_id": changes.get("rider_id", row.rider_id),
            "carrier": changes.get("carrier", row.carrier),
            "delivery_date": changes.get("delivery_date", row.delivery_date),
        },
    )


def _today() -> date:
    return datetime.now(UTC).astimezone(LIMA).date()
