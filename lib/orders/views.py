"""Order rows to the view a role may see: `Order`, or `DeliveryOrder` for LOGISTICS.

Field visibility is decided here, by choosing the schema (lib.orders.queryable.view_of, which also
derives what each role may filter and search on from it): there is no field to forget to blank
out, because LOGISTICS' shapes have no price, total, payment status, document or email at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from lib.orders.lifecycle import SELLER_OWN_ACTIONS, Status, transitions_from
from lib.orders.queryable import view_of
from lib.orders.schemas import (
    Address,
    Customer,
    DeliveryCustomer,
    DeliveryItem,
    DeliveryOrder,
    DeliveryPage,
    DeliverySummary,
    Item,
    Order,
    OrderPage,
    OrderRef,
    OrderSummary,
    Shipment,
)
from lib.orders.store import order_code
from lib.tenancy import Role, TenantContext

SUMMARY_COLUMNS = (
    "o.id, o.number, o.status, o.payment_status, o.channel, o.customer_name, o.customer_phone, o.district, "
    "o.ubigeo, o.delivery_date, o.currency, o.total_cents, o.collect_on_delivery, o.seller_id, o.rider_id, "
    "o.carrier, o.prepaid_cents, o.created_at"
)


def for_delivery(ctx: TenantContext) -> bool:
    return view_of(ctx.actor.role) is DeliveryOrder


def amount_to_collect(row: Any) -> int:
    """What the rider collects at the door: the total less verified prepayments (net of refunds).

    Payments still awaiting review do not reduce it: a screenshot is not money until verified.
    """
    if not row.collect_on_delivery:
        return 0
    return max(int(row.total_cents) - max(int(row.prepaid_cents), 0), 0)


def actions(ctx: TenantContext, row: Any) -> list[str]:
    role = ctx.actor.role
    if role is None:
        return []
    status = Status(row.status)
    if role == Role.SELLER:
        if row.seller_id != ctx.actor.user_id:
            return []
        return [action for action, sources in SELLER_OWN_ACTIONS.items() if status in sources]
    return transitions_from(status, ctx.actor, row.rider_id)


def _address(row: Any) -> Address:
    return Address(
        department=row.department,
        province=row.province,
        district=row.district,
        ubigeo=row.ubigeo,
        line=row.address_line,
        reference=row.address_reference,
        latitude=row.latitude,
        longitude=row.longitude,
    )


def shipment(row: Any | None) -> Shipment | None:
    if row is None:
        return None
    return Shipment(
        carrier=row.carrier,
        state=row.state,
        tracking_code=row.tracking_code,
        attempts=row.attempts,
        last_sync_at=row.last_sync_at,
        problem=row.problem,
        problem_detail=row.problem_detail,
        has_screenshot=row.screenshot_key is not None,
    )


def detail(ctx: TenantContext, row: Any, item_rows: Sequence[Any], shipment_row: Any | None) -> Order | DeliveryOrder:
    code = order_code(row.number)
    if for_delivery(ctx):
        return DeliveryOrder(
            id=row.id,
            code=code,
            status=Status(row.status),
            delivery_outcome=row.delivery_outcome,
            delivery_attempts=row.delivery_attempts,
            customer=DeliveryCustomer(name=row.customer_name, phone=row.customer_phone),
            address=_address(row),
            delivery_date=row.delivery_date,
            delivery_slot=row.delivery_slot,
            items=[DeliveryItem(sku=i.sku, name=i.name, quantity=i.quantity) for i in item_rows],
            currency=row.currency,
            amount_to_collect_cents=amount_to_collect(row),
            rider_id=row.rider_id,
            carrier=row.carrier,
            status_reason=row.status_reason,
            shipment=shipment(shipment_row),
            version=row.version,
            created_at=row.created_at,
            actions=actions(ctx, row),
        )
    duplicate = (
        OrderRef(id=row.duplicate_of, code=order_code(row.duplicate_number)) if row.duplicate_of is not None else None
    )
    return Order(
        id=row.id,
        code=code,
        external_ref=row.external_ref,
        status=Status(row.status),
        payment_status=row.payment_status,
        delivery_outcome=row.delivery_outcome,
        delivery_attempts=row.delivery_attempts,
        channel=row.channel,
        customer=Customer(
            id=row.customer_id,
            name=row.customer_name,
            phone=row.customer_phone,
            document_type=row.document_type,
            document_number=row.document_number,
            email=row.customer_email,
        ),
        address=_address(row),
        delivery_date=row.delivery_date,
        delivery_slot=row.delivery_slot,
        items=[
            Item(
                sku=i.sku,
                name=i.name,
                quantity=i.quantity,
                unit_price_cents=i.unit_price_cents,
                line_total_cents=i.line_total_cents,
            )
            for i in item_rows
        ],
        currency=row.currency,
        subtotal_cents=row.subtotal_cents,
        discount_cents=row.discount_cents,
        shipping_cents=row.shipping_cents,
        total_cents=row.total_cents,
        paid_cents=row.paid_cents,
        refunded_cents=row.refunded_cents,
        collect_on_delivery=row.collect_on_delivery,
        amount_to_collect_cents=amount_to_collect(row),
        seller_id=row.seller_id,
        rider_id=row.rider_id,
        carrier=row.carrier,
        notes=row.notes,
        status_reason=row.status_reason,
        duplicate_of=duplicate,
        shipment=shipment(shipment_row),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        actions=actions(ctx, row),
    )


def page(ctx: TenantContext, rows: Sequence[Any], next_cursor: str | None) -> OrderPage | DeliveryPage:
    """A list page (rows of SUMMARY_COLUMNS) in the caller's view, the shape chosen once per page."""
    if for_delivery(ctx):
        return DeliveryPage(orders=[_delivery_summary(row) for row in rows], next_cursor=next_cursor)
    return OrderPage(orders=[_order_summary(row) for row in rows], next_cursor=next_cursor)


# The enum member of a stored status without Enum.__call__'s lookup machinery (list pages: per row).
_STATUS = {status.value: status for status in Status}


def _order_summary(row: Any) -> OrderSummary:
    return OrderSummary(
        id=row.id,
        code=order_code(row.number),
        status=_STATUS[row.status],
        payment_status=row.payment_status,
        channel=row.channel,
        customer_name=row.customer_name,
        customer_phone=row.customer_phone,
        district=row.district,
        ubigeo=row.ubigeo,
        delivery_date=row.delivery_date,
        currency=row.currency,
        total_cents=row.total_cents,
        seller_id=row.seller_id,
        rider_id=row.rider_id,
        carrier=row.carrier,
        created_at=row.created_at,
    )


def _delivery_summary(row: Any) -> DeliverySummary:
    return DeliverySummary(
        id=row.id,
        code=order_code(row.number),
        status=_STATUS[row.status],
        customer_name=row.customer_name,
        customer_phone=row.customer_phone,
        district=row.district,
        ubigeo=row.ubigeo,
        delivery_date=row.delivery_date,
        currency=row.currency,
        amount_to_collect_cents=amount_to_collect(row),
        rider_id=row.rider_id,
        carrier=row.carrier,
        created_at=row.created_at,
    )


def group_items(rows: Iterable[Any]) -> dict[UUID, list[Any]]:
    grouped: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.order_id].append(row)
    return grouped
