"""From a request (or a CSV row) to an order ready to store: normalised, checked, priced.

Everything a client sends is checked here, all at once, so one answer lists every problem:
phone (to E.164, Peru by default), document (DNI, RUC with its check digit, foreign ID),
ubigeo, coordinates given in pairs, and money. Totals are computed here and nowhere else:
subtotal = sum of quantity x unit price, total = subtotal - discount + shipping, and a
discount larger than what it discounts is refused.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from lib.http.errors import ApiError
from lib.orders.problems import Problems
from lib.orders.schemas import AddressIn, CustomerIn, ItemIn, OrderIn
from lib.peru import InvalidIdentifier, check_ubigeo, normalise_document, normalise_phone


@dataclass(frozen=True, slots=True)
class NewCustomer:
    name: str
    phone: str
    document_type: str
    document_number: str
    email: str | None


@dataclass(frozen=True, slots=True)
class NewItem:
    sku: str
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents + self.shipping_cents


@dataclass(frozen=True, slots=True)
class NewOrder:
    customer: NewCustomer
    address: AddressIn
    items: tuple[NewItem, ...]
    totals: Totals
    channel: str
    currency: str
    delivery_date: date | None
    delivery_slot: str | None
    collect_on_delivery: bool
    notes: str
    external_ref: str | None


def search_name(name: str) -> str:
    """Lower-case, accents removed, spaces collapsed: 'María  Huamán' -> 'maria huaman'."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.lower().split())


MAX_NAME_WORDS = 20


def name_words(name: str) -> list[str]:
    """The searchable words of a name: folded, letters and digits only, each once, in order."""
    words: list[str] = []
    for word in search_name(name).split():
        plain = "".join(char for char in word if char.isalnum())[:60]
        if plain and plain not in words:
            words.append(plain)
    return words[:MAX_NAME_WORDS]


def customer(data: CustomerIn, problems: Problems, prefix: str = "$.customer") -> NewCustomer | None:
    try:
        phone = normalise_phone(data.phone)
    except InvalidIdentifier as bad:
        problems.identifier(f"{prefix}.phone", bad)
        phone = ""
    try:
        document = normalise_document(data.document_type, data.document_number)
    except InvalidIdentifier as bad:
        problems.identifier(f"{prefix}.document_number", bad)
        document = ""
    email = data.email.strip().lower() if data.email else None
    if email is not None and ("@" not in email or " " in email):
        problems.add(f"{prefix}.email", "invalid_email")
    name = " ".join(data.name.split())
    if not name:
        problems.add(f"{prefix}.name", "required")
    if not phone or not document:
        return None
    return NewCustomer(name=name, phone=phone, document_type=data.document_type, document_number=document, email=email)


def address(data: AddressIn, problems: Problems, prefix: str = "$.address") -> None:
    try:
        check_ubigeo(data.ubigeo)
    except InvalidIdentifier as bad:
        problems.identifier(f"{prefix}.ubigeo", bad)
    if (data.latitude is None) != (data.longitude is None):
        problems.add(f"{prefix}.latitude", "coordinates_pair")


def items(data: list[ItemIn]) -> tuple[NewItem, ...]:
    return tuple(
        NewItem(
            sku=item.sku.strip(),
            name=" ".join(item.name.split()),
            quantity=item.quantity,
            unit_price_cents=item.unit_price_cents,
        )
        for item in data
    )


def price(subtotal: int, discount: int, shipping: int, problems: Problems) -> Totals:
    result = Totals(subtotal, discount, shipping)
    if result.total_cents < 0:
        problems.add("$.discount_cents", "discount_too_large")
    return result


def totals(lines: tuple[NewItem, ...], discount: int, shipping: int, problems: Problems) -> Totals:
    return price(sum(line.line_total_cents for line in lines), discount, shipping, problems)


def check_order(data: OrderIn, problems: Problems) -> NewOrder | None:
    """The order ready to store, or None with what is wrong added to `problems`."""
    who = customer(data.customer, problems)
    address(data.address, problems)
    lines = items(data.items)
    money = totals(lines, data.discount_cents, data.shipping_cents, problems)
    if who is None or problems:
        return None
    return NewOrder(
        customer=who,
        address=data.address,
        items=lines,
        totals=money,
        channel=data.channel,
        currency=data.currency,
        delivery_date=data.delivery_date,
        delivery_slot=data.delivery_slot,
        collect_on_delivery=data.collect_on_delivery,
        notes=data.notes.strip(),
        external_ref=data.external_ref,
    )


def new_order(data: OrderIn) -> NewOrder:
    """The order ready to store; 422 listing every problem otherwise."""
    problems = Problems()
    order = check_order(data, problems)
    problems.raise_if_any()
    if order is None:  # unreachable: check_order adds a problem whenever it returns None
        raise ApiError("validation_failed", 422)
    return order
