"""What a role may filter and search orders on: the fields its view of an order shows, no more.

A filter or a search answers a question about the field it reads: LOGISTICS filtering on
`payment_status=paid`, or searching a DNI, would learn which orders are paid and whose document
that is, though its view (`DeliveryOrder`) has neither. So each filter of `OrderFilters` and each
kind of term `q` recognises is mapped here to the view field it reads, and a role may use it only
when the schema it sees orders in has that field. The fields are computed from the msgspec
Structs (nested ones as `customer.phone`), never listed per role or per route: a field added to
or taken from a view changes what its role may query, here and nowhere else.

- A filter outside the view is refused with 422 `filter_not_in_view`, naming it. The list and the
  export both build their SQL through lib.orders.store.page_statement, which asks here first.
- A search term is read only as the kinds of term the view allows, so one that only a hidden
  field could match finds nothing (for LOGISTICS a DNI is not looked up as a document; digits
  are still tried as a phone or an order number, and names as names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import msgspec
from msgspec import inspect

from lib.http.errors import ApiError, ErrorDetail
from lib.orders.schemas import DeliveryOrder, Order, OrderFilters
from lib.tenancy import Role


class Term(StrEnum):
    """What a search term is read as (lib.orders.store decides which kinds a term could be)."""

    CODE = "code"
    PHONE = "phone"
    DOCUMENT = "document"
    NAME = "name"


# Each filter of OrderFilters and the field of an order's view it reads.
FILTER_READS: Mapping[str, str] = {
    "status": "status",
    "payment_status": "payment_status",
    "channel": "channel",
    "seller_id": "seller_id",
    "rider_id": "rider_id",
    "carrier": "carrier",
    "ubigeo": "address.ubigeo",
    "created_from": "created_at",
    "created_to": "created_at",
}

# Each kind of search term and the field of an order's view it matches.
TERM_READS: Mapping[Term, str] = {
    Term.CODE: "code",
    Term.PHONE: "customer.phone",
    Term.DOCUMENT: "customer.document_number",
    Term.NAME: "customer.name",
}

OUTSIDE_VIEW = "not in your view of an order"


def view_of(role: Role | None) -> type[Order] | type[DeliveryOrder]:
    """The schema `role` sees an order in (lib.orders.views builds it; the choice is made here
    because lib.orders.store, which lib.orders.views imports, asks this module what to allow)."""
    return DeliveryOrder if role == Role.LOGISTICS else Order


def fields_of(schema: type[msgspec.Struct]) -> frozenset[str]:
    """Every field of a view as a dotted path: `status`, `customer`, `customer.phone`, `items.sku`..."""
    return _paths(inspect.type_info(schema), "")


def _paths(info: inspect.Type, prefix: str) -> frozenset[str]:
    if isinstance(info, inspect.StructType):
        found: set[str] = set()
        for field in info.fields:
            path = prefix + field.encode_name
            found |= {path} | _paths(field.type, path + ".")
        return frozenset(found)
    if isinstance(info, inspect.UnionType):
        return frozenset().union(*(_paths(member, prefix) for member in info.types))
    if isinstance(info, inspect.ListType):
        return _paths(info.item_type, prefix)
    if isinstance(info, inspect.Metadata):
        return _paths(info.type, prefix)
    return frozenset()


@dataclass(frozen=True, slots=True)
class Reach:
    """The filters and kinds of search term one view lets its role use."""

    filters: frozenset[str]
    terms: frozenset[Term]

    @classmethod
    def of(cls, schema: type[msgspec.Struct]) -> Reach:
        shown = fields_of(schema)
        return cls(
            filters=frozenset(name for name, path in FILTER_READS.items() if path in shown),
            terms=frozenset(term for term, path in TERM_READS.items() if path in shown),
        )

    def require(self, filters: OrderFilters) -> None:
        """Refuse (422 `filter_not_in_view`) every filter set outside this reach, each named."""
        outside = [name for name in FILTER_READS if name not in self.filters and getattr(filters, name) is not None]
        if outside:
            details = [ErrorDetail(field=f"$.{name}", reason=OUTSIDE_VIEW) for name in outside]
            raise ApiError("filter_not_in_view", 422, details=details)


def _check_complete() -> None:
    """Every filter has a declared field, and every declared field is in some view: a typo here
    would silently refuse a filter to everyone, and a new filter would be nobody's question."""
    undeclared = (set(OrderFilters.__struct_fields__) - {"q"}) ^ set(FILTER_READS)
    if undeclared:
        raise RuntimeError(f"filters without a view field in FILTER_READS (or stale there): {sorted(undeclared)}")
    shown = fields_of(Order) | fields_of(DeliveryOrder)
    unknown = sorted(path for path in (*FILTER_READS.values(), *TERM_READS.values()) if path not in shown)
    if unknown:
        raise RuntimeError(f"view fields no view has: {unknown}")


_check_complete()

# Computed once: the list asks on every page.
_REACH: dict[Role | None, Reach] = {role: Reach.of(view_of(role)) for role in (*Role, None)}


def reach(role: Role | None) -> Reach:
    """What `role` may filter and search orders on."""
    return _REACH[role]
