"""What crosses the wire about payments, proofs, collections and settlements.

A payment's review status and an order's payment status are never accepted from a client: the
request shapes have no such fields (an unknown field is a 422), reviews go through their own
route, and the order's status is derived by the database. LOGISTICS never gets a `Payment`: a
rider's only view of money is the order's amount to collect and the `Collection` they record.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from lib.http.schemas import BoundedDate, BoundedDateTime, Schema, text
from lib.orders.schemas import Currency

Method = Literal["yape", "plin", "bank_transfer", "card", "cash_on_delivery", "other"]
DoorMethod = Literal["cash_on_delivery", "yape", "plin"]
Kind = Literal["payment", "refund"]
ReviewStatus = Literal["submitted", "verified", "rejected"]
Amount = Annotated[int, Meta(ge=1, le=10_000_000_000)]
OperationNumber = Annotated[str, text(min_length=3, max_length=60, description="as on the receipt; spaces ignored")]
Reason = Annotated[str, text(min_length=3, max_length=500)]

# Methods whose receipts always carry an operation number (a payment without one proves nothing).
NEEDS_OPERATION_NUMBER = frozenset({"yape", "plin", "bank_transfer"})


# --- requests -----------------------------------------------------------------------------------


class PaymentIn(Schema):
    method: Method
    amount_cents: Amount
    paid_at: BoundedDateTime
    kind: Kind = "payment"
    currency: Currency | None = None  # the order's currency when absent; another one is refused
    operation_number: OperationNumber | None = None
    payer_name: Annotated[str, text(min_length=1, max_length=200)] | None = None
    notes: Annotated[str, text(max_length=1000)] = ""


class PaymentChange(Schema):
    """A partial edit; the version travels in If-Match."""

    method: Method | msgspec.UnsetType = msgspec.UNSET
    amount_cents: Amount | msgspec.UnsetType = msgspec.UNSET
    paid_at: BoundedDateTime | msgspec.UnsetType = msgspec.UNSET
    operation_number: OperationNumber | msgspec.UnsetType | None = msgspec.UNSET
    payer_name: Annotated[str, text(min_length=1, max_length=200)] | msgspec.UnsetType | None = msgspec.UNSET
    notes: Annotated[str, text(max_length=1000)] | msgspec.UnsetType = msgspec.UNSET


class ReviewIn(Schema):
    decision: Literal["verify", "reject"]
    reason: Reason | None = None  # required to reject
    # Required to verify a payment whose operation number or proof was already used.
    override_reason: Reason | None = None


class CollectionIn(Schema):
    """What a rider collected at the door of a delivered cash-on-delivery order."""

    amount_cents: Amount
    method: DoorMethod = "cash_on_delivery"
    operation_number: OperationNumber | None = None
    collected_at: BoundedDateTime | None = None  # now when absent
    notes: Annotated[str, text(max_length=1000)] = ""


class SettlementIn(Schema):
    rider_id: UUID
    currency: Currency = "PEN"
    notes: Annotated[str, text(max_length=1000)] = ""


class SettlementClose(Schema):
    handed_over_cents: Annotated[int, Meta(ge=0, le=10_000_000_000)]
    # Required when what was handed over differs from the cash collected, or the rider collected
    # less than expected.
    reason: Reason | None = None


class RiderDayQuery(Schema):
    day: BoundedDate


# --- views --------------------------------------------------------------------------------------


class ProofInfo(Schema):
    content_type: str
    bytes: int
    filename: str
    uploaded_at: datetime
    duplicate_of: UUID | None  # another payment already carried this very file


class Payment(Schema):
    id: UUID
    order_id: UUID
    kind: Kind
    method: Method
    amount_cents: int
    currency: Currency
    operation_number: str | None
    payer_name: str | None
    paid_at: datetime
    notes: str
    review_status: ReviewStatus
    review_reason: str | None
    override_reason: str | None
    reviewed_by: UUID | None
    reviewed_at: datetime | None
    # Another payment of the organization with the same method and operation number: a likely
    # reused or fake receipt. Verifying it then needs an override with a reason.
    duplicate_of: UUID | None
    recorded_by: UUID
    collected_by: UUID | None
    settlement_id: UUID | None
    proof: ProofInfo | None
    version: int
    created_at: datetime
    updated_at: datetime


class PaymentList(Schema):
    payments: list[Payment]
    paid_cents: int
    refunded_cents: int
    payment_status: str


class Collection(Schema):
    """A rider's own record of what they collected (the rider's only payment view)."""

    id: UUID
    order_id: UUID
    amount_cents: int
    currency: Currency
    method: DoorMethod
    operation_number: str | None
    collected_at: datetime
    version: int


class SettlementOrder(Schema):
    order_id: UUID
    code: str
    expected_cents: int


class Settlement(Schema):
    id: UUID
    code: str
    rider_id: UUID
    currency: Currency
    status: Literal["open", "closed"]
    expected_cents: int  # what the delivered orders in it were to collect
    collected_cash_cents: int  # cash the rider recorded
    collected_digital_cents: int  # Yape/Plin at the door: already in the merchant's account
    handed_over_cents: int
    # collected (cash + digital) below expected: the rider recorded less than the orders were owed
    collection_gap_cents: int
    # cash collected but not handed over (only once closed)
    shortfall_cents: int
    flagged: bool
    orders: list[SettlementOrder]
    collections: list[Collection]
    notes: str
    close_reason: str | None
    created_by: UUID
    created_at: datetime
    closed_by: UUID | None
    closed_at: datetime | None
    version: int


class SettlementSummary(Schema):
    id: UUID
    code: str
    rider_id: UUID
    currency: Currency
    status: Literal["open", "closed"]
    created_at: datetime
    closed_at: datetime | None


class SettlementList(Schema):
    settlements: list[SettlementSummary]


class RiderDay(Schema):
    rider_id: UUID
    rider_name: str
    currency: Currency
    orders_delivered: int
    to_collect_cents: int
    collected_cents: int
    handed_over_cents: int
    pending_cents: int  # collected that day and not yet handed over in a closed settlement


class RiderDayReport(Schema):
    day: date
    riders: list[RiderDay]
