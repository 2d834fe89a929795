"""What a role may query is computed from its view's msgspec Structs, and the table is checked whole."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from lib.http.errors import ApiError
from lib.orders import queryable
from lib.orders.queryable import FILTER_READS, Reach, Term, fields_of, reach, view_of
from lib.orders.schemas import DeliveryOrder, Order, OrderFilters
from lib.tenancy import Role


def test_view_fields_are_read_from_the_structs_nested_ones_included() -> None:
    delivery = fields_of(DeliveryOrder)
    assert {"status", "customer", "customer.name", "customer.phone", "address.ubigeo", "items.sku"} <= delivery
    assert not {"payment_status", "channel", "seller_id", "customer.document_number", "customer.email"} & delivery
    assert {"payment_status", "customer.document_number", "items.unit_price_cents"} <= fields_of(Order)


def test_each_role_reaches_what_its_view_shows() -> None:
    assert view_of(Role.LOGISTICS) is DeliveryOrder
    assert reach(Role.LOGISTICS).filters == {"status", "rider_id", "carrier", "ubigeo", "created_from", "created_to"}
    assert reach(Role.LOGISTICS).terms == {Term.CODE, Term.PHONE, Term.NAME}
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.SELLER):
        assert view_of(role) is Order
        assert reach(role).filters == set(FILTER_READS) and reach(role).terms == set(Term)


class _PaidDelivery(msgspec.Struct):
    """A delivery view that showed the payment status: its role could then filter on it."""

    status: str
    payment_status: str
    created_at: str


def test_a_field_added_to_a_view_is_a_filter_its_role_gains() -> None:
    assert "payment_status" not in Reach.of(DeliveryOrder).filters
    assert Reach.of(_PaidDelivery).filters == {"status", "payment_status", "created_from", "created_to"}
    assert Reach.of(_PaidDelivery).terms == set()  # no code, customer or phone in it: no search


def test_require_names_each_filter_outside_the_reach_and_passes_the_rest() -> None:
    logistics = reach(Role.LOGISTICS)
    logistics.require(OrderFilters(status="dispatched", ubigeo="150101"))  # nothing outside: no error
    with pytest.raises(ApiError) as refused:
        logistics.require(OrderFilters(status="dispatched", channel="whatsapp", payment_status="paid"))
    assert (refused.value.code, refused.value.status) == ("filter_not_in_view", 422)
    assert [detail.field for detail in refused.value.details] == ["$.payment_status", "$.channel"]
    reach(Role.ADMIN).require(OrderFilters(channel="whatsapp", payment_status="paid"))


@pytest.mark.parametrize(
    "table",
    [
        {**FILTER_READS, "ubigeo": "address.ubigeoo"},  # a typo: nobody could filter on it
        {k: v for k, v in FILTER_READS.items() if k != "carrier"},  # a filter with no field
        {**FILTER_READS, "colour": "status"},  # a field that is no filter of OrderFilters
    ],
    ids=["unknown-field", "undeclared-filter", "stale-filter"],
)
def test_an_incomplete_or_wrong_table_stops_the_import(monkeypatch: Any, table: dict[str, str]) -> None:
    queryable._check_complete()  # the table as shipped passes
    monkeypatch.setattr(queryable, "FILTER_READS", table)
    with pytest.raises(RuntimeError):
        queryable._check_complete()
