"""What crosses the wire about orders: request shapes and each role's view.

Money is integer cents with the currency beside it; totals are computed by the server and a
client-sent total is refused (unknown field). Views are whitelists: LOGISTICS gets
`DeliveryOrder`, which has no prices, totals, payment status, document or email, only what
delivering needs (who, where, what, and the amount to collect on delivery). Every other role
gets `Order`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from lib.http.schemas import BoundedDate, Schema, text
from lib.orders.lifecycle import Status

Channel = Literal["whatsapp", "instagram", "facebook", "tiktok", "web_store", "marketplace", "phone", "other"]
Currency = Literal["PEN", "USD"]
PaymentStatus = Literal["unpaid", "partially_paid", "paid", "overpaid", "refunded"]
DocumentType = Literal["DNI", "RUC", "FOREIGN"]
Cents = Annotated[int, Meta(ge=0, le=100_000_000_00)]
Slot = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")]
ExternalRef = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._:/-]{1,100}$")]
Carrier = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,30}$")]
Ubigeo = Annotated[str, Meta(pattern=r"^[0-9]{6}$")]


# --- requests -----------------------------------------------------------------------------------


class CustomerIn(Schema):
    name: Annotated[str, text(min_length=1, max_length=200)]
    phone: Annotated[str, text(min_length=6, max_length=32, description="any format; stored as E.164, +51 default")]
    document_type: DocumentType
    document_number: Annotated[str, text(min_length=5, max_length=20)]
    email: Annotated[str, text(max_length=254)] | None = None


class AddressIn(Schema):
    department: Annotated[str, text(min_length=1, max_length=60)]
    province: Annotated[str, text(min_length=1, max_length=60)]
    district: Annotated[str, text(min_length=1, max_length=80)]
    ubigeo: Ubigeo
    line: Annotated[str, text(min_length=1, max_length=300)]
    reference: Annotated[str, text(max_length=300)] = ""
    latitude: Annotated[float, Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Meta(ge=-180, le=180)] | None = None


class ItemIn(Schema):
    sku: Annotated[str, text(min_length=1, max_length=64)]
    name: Annotated[str, text(min_length=1, max_length=200)]
    quantity: Annotated[int, Meta(ge=1, le=10_000)]
    unit_price_cents: Cents


class OrderIn(Schema):
    customer: CustomerIn
    address: AddressIn
    items: Annotated[list[ItemIn], Meta(min_length=1, max_length=100)]
    channel: Channel
    currency: Currency = "PEN"
    discount_cents: Cents = 0
    shipping_cents: Cents = 0
    delivery_date: BoundedDate | None = None
    delivery_slot: Slot | None = None
    collect_on_delivery: bool = False
    notes: Annotated[str, text(max_length=2000)] = ""
    external_ref: ExternalRef | None = None


class OrderChange(Schema):
    """A partial edit: only the fields present change. The version travels in If-Match."""

    customer: CustomerIn | msgspec.UnsetType = msgspec.UNSET
    address: AddressIn | msgspec.UnsetType = msgspec.UNSET
    items: Annotated[list[ItemIn], Meta(min_length=1, max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    channel: Channel | msgspec.UnsetType = msgspec.UNSET
    discount_cents: Cents | msgspec.UnsetType = msgspec.UNSET
    shipping_cents: Cents | msgspec.UnsetType = msgspec.UNSET
    delivery_date: BoundedDate | msgspec.UnsetType | None = msgspec.UNSET
    delivery_slot: Slot | msgspec.UnsetType | None = msgspec.UNSET
    collect_on_delivery: bool | msgspec.UnsetType = msgspec.UNSET
    notes: Annotated[str, text(max_length=2000)] | msgspec.UnsetType = msgspec.UNSET
    rider_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    carrier: Carrier | msgspec.UnsetType | None = msgspec.UNSET


class TransitionIn(Schema):
    action: Literal[
        "confirm",
        "prepare",
        "mark_ready",
        "dispatch",
        "deliver",
        "fail_delivery",
        "reschedule",
        "redispatch",
        "return_to_sender",
        "cancel",
    ]
    # Whether a step needs a reason, and that it says something, is the step's own requirement
    # (lib.orders.lifecycle), answered as `transition_requirement`.
    reason: Annotated[str, text(max_length=500)] | None = None
    delivery_date: BoundedDate | None = None
    rider_id: UUID | None = None
    carrier: Carrier | None = None


class OrderFilters(Schema):
    """Query parameters of the list and the export. Dates are days in Lima (UTC-5)."""

    status: Status | None = None
    payment_status: PaymentStatus | None = None
    channel: Channel | None = None
    seller_id: UUID | None = None
    rider_id: UUID | None = None
    carrier: Carrier | None = None
    ubigeo: Ubigeo | None = None
    created_from: BoundedDate | None = None
    created_to: BoundedDate | None = None
    q: Annotated[str, text(min_length=1, max_length=100, description="order code, phone, document or name")] | None = (
        None
    )


class OrderListQuery(OrderFilters):
    cursor: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,200}$")] | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class CustomerLookup(Schema):
    """Find a returning customer by phone or by document (at least one)."""

    phone: Annotated[str, text(min_length=6, max_length=32)] | None = None
    document_type: DocumentType | None = None
    document_number: Annotated[str, text(min_length=5, max_length=20)] | None = None

    # What the types cannot say, for the OpenAPI document (scripts/openapi.py): a phone, or both
    # halves of a document (lib.orders.service.lookup_customer refuses anything else with 422).
    json_schema_extra: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"required": ["phone"], "properties": {"phone": {"type": "string"}}},
            {
                "required": ["document_type", "document_number"],
                "properties": {"document_type": {"type": "string"}, "document_number": {"type": "string"}},
            },
        ]
    }


# --- responses ----------------------------------------------------------------------------------


class Customer(Schema):
    id: UUID
    name: str
    phone: str
    document_type: DocumentType
    document_number: str
    email: str | None


class Address(Schema):
    department: str
    province: str
    district: str
    ubigeo: str
    line: str
    reference: str
    latitude: float | None
    longitude: float | None


class Item(Schema):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class DeliveryItem(Schema):
    sku: str
    name: str
    quantity: int


class OrderRef(Schema):
    id: UUID
    code: str


class Shipment(Schema):
    """The order's registration with its carrier's back office (Zeus), kept in sync by a job.

    `state`: queued, retrying (a transient failure, another attempt is due), registered (with its
    tracking code), needs_review (a person must look: `problem` says why, `has_screenshot` whether
    a screenshot of the portal's page was kept; fix the cause and POST to retry).
    """

    carrier: str
    state: Literal["queued", "registered", "retrying", "needs_review"]
    tracking_code: str | None
    attempts: int
    last_sync_at: datetime | None
    problem: str | None
    problem_detail: str | None
    has_screenshot: bool


class Order(Schema):
    id: UUID
    code: str
    external_ref: str | None
    status: Status
    payment_status: PaymentStatus
    delivery_outcome: Literal["delivered", "failed", "returned"] | None
    delivery_attempts: int
    channel: Channel
    customer: Customer
    address: Address
    delivery_date: date | None
    delivery_slot: str | None
    items: list[Item]
    currency: Currency
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    total_cents: int
    paid_cents: int  # verified payments (cash collected on delivery included)
    refunded_cents: int  # verified refunds
    collect_on_delivery: bool
    amount_to_collect_cents: int
    seller_id: UUID
    rider_id: UUID | None
    carrier: str | None
    notes: str
    status_reason: str | None
    duplicate_of: OrderRef | None
    shipment: Shipment | None
    version: int
    created_at: datetime
    updated_at: datetime
    actions: list[str]


class DeliveryCustomer(Schema):
    name: str
    phone: str


class DeliveryOrder(Schema):
    """LOGISTICS' view: what delivering needs, nothing about prices or payments."""

    id: UUID
    code: str
    status: Status
    delivery_outcome: Literal["delivered", "failed", "returned"] | None
    delivery_attempts: int
    customer: DeliveryCustomer
    address: Address
    delivery_date: date | None
    delivery_slot: str | None
    items: list[DeliveryItem]
    currency: Currency
    amount_to_collect_cents: int
    rider_id: UUID | None
    carrier: str | None
    status_reason: str | None
    shipment: Shipment | None
    version: int
    created_at: datetime
    actions: list[str]


class OrderSummary(Schema):
    id: UUID
    code: str
    status: Status
    payment_status: PaymentStatus
    channel: Channel
    customer_name: str
    customer_phone: str
    district: str
    ubigeo: str
    delivery_date: date | None
    currency: Currency
    total_cents: int
    seller_id: UUID
    rider_id: UUID | None
    carrier: str | None
    created_at: datetime


class DeliverySummary(Schema):
    id: UUID
    code: str
    status: Status
    customer_name: str
    customer_phone: str
    district: str
    ubigeo: str
    delivery_date: date | None
    currency: Currency
    amount_to_collect_cents: int
    rider_id: UUID | None
    carrier: str | None
    created_at: datetime


class OrderPage(Schema):
    orders: list[OrderSummary]
    next_cursor: str | None


class DeliveryPage(Schema):
    orders: list[DeliverySummary]
    next_cursor: str | None


class TimelineEntry(Schema):
    at: datetime
    action: str
    actor_id: UUID | None
    actor_name: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class Timeline(Schema):
    events: list[TimelineEntry]


# --- CSV import ---------------------------------------------------------------------------------


class ImportQuery(Schema):
    dry_run: bool = False


class ImportProblem(Schema):
    row: int
    column: str | None
    message: str


class ImportReport(Schema):
    """What an import did (or, on a dry run, would do). Rows count from the header as row 1."""

    dry_run: bool
    rows: int
    orders: int
    created: int
    skipped: list[str]  # external references already imported: left as they are
    first_code: str | None
    last_code: str | None
    error_count: int
    errors: list[ImportProblem]  # the first 500
