"""Every date and timestamp a request carries is between 2000-01-01 and 2100-12-31 (issue 17).

Out of that range the order list, the export, the rider report and payments answered 500 (the
Lima-day and UTC arithmetic overflows). The range lives in lib/http/schemas: BoundedDate and
BoundedDateTime state it in the JSON Schema, and the one decoder of bodies and of query strings
refuses any date outside it. The last tests walk every declared operation so that a new route
cannot declare a plain `date` or `datetime` (the OpenAPI document would not state the range).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import inspect

from lib.http import PUBLIC, Call, Operation, Schema
from lib.http.schemas import BoundedDate, BoundedDateTime, within_bounds
from scripts.openapi import declared_functions, project_document

from .apps import make_client

ROOT = Path(__file__).resolve().parents[3]


class Window(Schema):
    day: BoundedDate
    at: BoundedDateTime | None = None
    days: list[BoundedDate] = msgspec.field(default_factory=list)


class Plain(Schema):
    """A schema that forgot the bounded types: the decoder still refuses what is out of range."""

    day: date
    at: datetime | None = None


class Seen(Schema):
    day: date
    at: datetime | None


def seen(call: Call[Any, Any]) -> Seen:
    data = call.body if call.body is not None else call.query
    return Seen(day=data.day, at=data.at)


def client(schema: type = Window) -> Any:
    return make_client(
        "/api/window",
        Operation("POST", seen, access=PUBLIC, body=schema, response=Seen),
        Operation("GET", seen, access=PUBLIC, query=schema, response=Seen),
    )


IN_RANGE = ["2000-01-01", "2026-11-25", "2100-12-31"]
OUT_OF_RANGE = ["1999-12-31", "2101-01-01", "9999-12-31", "0001-01-01"]


@pytest.mark.parametrize("schema", [Window, Plain])
@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_a_day_out_of_range_is_422_naming_the_field(schema: type, day: str) -> None:
    app = client(schema)
    assert app.post("/api/window", json={"day": "2026-11-25"}).status_code == 200
    assert app.get("/api/window", params={"day": "2026-11-25"}).status_code == 200
    for response in (app.post("/api/window", json={"day": day}), app.get("/api/window", params={"day": day})):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert error["details"] == [{"field": "$.day", "reason": "must be a day from 2000-01-01 to 2100-12-31"}]


@pytest.mark.parametrize("day", IN_RANGE)
def test_the_range_includes_both_ends(day: str) -> None:
    app = client()
    assert app.post("/api/window", json={"day": day}).json()["day"] == day
    assert app.get("/api/window", params={"day": day}).json()["day"] == day


@pytest.mark.parametrize("schema", [Window, Plain])
@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: the conversion overflowed
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
    ],
)
def test_a_timestamp_out_of_range_is_422(schema: type, at: str) -> None:
    app = client(schema)
    accepted = app.post("/api/window", json={"day": "2026-11-25", "at": "2026-11-25T10:00:00-05:00"})
    assert accepted.status_code == 200 and accepted.json()["at"] == "2026-11-25T10:00:00-05:00"
    response = app.post("/api/window", json={"day": "2026-11-25", "at": at})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "$.at"


@pytest.mark.parametrize("schema", [Window, Plain])
def test_a_timestamp_without_its_utc_offset_is_422(schema: type) -> None:
    # Such a value met aware ones in comparisons (paid_at > now): a TypeError, a 500.
    app = client(schema)
    assert app.post("/api/window", json={"day": "2026-11-25", "at": "2026-11-25T10:00:00Z"}).status_code == 200
    response = app.post("/api/window", json={"day": "2026-11-25", "at": "2026-11-25T10:00:00"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "$.at"


def test_the_refusal_names_the_item_of_a_list_in_both_languages() -> None:
    app = client()
    body = {"day": "2026-11-25", "days": ["2026-01-01", "3000-01-01"]}
    spanish = app.post("/api/window", json=body)
    english = app.post("/api/window", json=body, headers={"Accept-Language": "en"})
    assert spanish.status_code == english.status_code == 422
    assert spanish.json()["error"]["details"][0]["field"] == "$.days[1]"
    assert spanish.json()["error"]["message"] == "Los datos enviados no son válidos."
    assert english.json()["error"]["message"] == "The data sent is not valid."
    assert app.post("/api/window", json={**body, "days": ["2026-01-01"]}).status_code == 200


# --- what the JSON Schema says is what the decoder enforces -------------------------------------


def _pattern(kind: Any) -> re.Pattern[str]:
    schema = msgspec.json.schema(kind)
    return re.compile(schema["pattern"])


@given(st.dates())
def test_the_date_pattern_states_exactly_the_range(day: date) -> None:
    assert bool(_pattern(BoundedDate).search(day.isoformat())) == within_bounds(day)


@given(st.datetimes(timezones=st.timezones()))
def test_the_timestamp_pattern_states_exactly_the_range(moment: datetime) -> None:
    written = msgspec.json.encode(moment).decode().strip('"')
    assert bool(_pattern(BoundedDateTime).search(written)) == within_bounds(moment)


def test_the_schemas_state_the_range_and_a_timezone() -> None:
    day = msgspec.json.schema(BoundedDate)
    at = msgspec.json.schema(BoundedDateTime)
    assert (day["format"], at["format"]) == ("date", "date-time")
    assert "2000-01-01 to 2100-12-31" in day["description"] and "2000-01-01 to 2100-12-31" in at["description"]
    assert not _pattern(BoundedDateTime).search("2026-11-25T10:00:00")  # no offset, no match


# --- every request date of every route is declared bounded --------------------------------------


def date_fields(kind: type) -> list[tuple[str, bool]]:
    """Every date or datetime a schema declares, with whether it is BoundedDate / BoundedDateTime."""
    bounded = [inspect.type_info(BoundedDate), inspect.type_info(BoundedDateTime)]
    found: list[tuple[str, bool]] = []
    visited: set[type] = set()

    def walk(node: inspect.Type, where: str) -> None:
        if node in bounded:
            found.append((where, True))
        elif isinstance(node, inspect.DateType | inspect.DateTimeType):
            found.append((where, False))
        elif isinstance(node, inspect.Metadata):
            walk(node.type, where)
        elif isinstance(node, inspect.StructType) and node.cls not in visited:
            visited.add(node.cls)
            for field in node.fields:
                walk(field.type, f"{where}.{field.name}")
        elif isinstance(node, inspect.UnionType):
            for member in node.types:
                walk(member, where)
        elif isinstance(node, inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType):
            walk(node.item_type, f"{where}[]")
        elif isinstance(node, inspect.TupleType):
            for member in node.item_types:
                walk(member, f"{where}[]")
        elif isinstance(node, inspect.DictType):
            walk(node.key_type, f"{where}{{key}}")
            walk(node.value_type, f"{where}{{}}")

    walk(inspect.type_info(kind), "$")
    return found


class Nested(Schema):
    windows: list[Window]
    plain: dict[str, Plain] | None = None


def test_the_walk_finds_a_plain_date_wherever_it_hides() -> None:
    assert date_fields(Window) == [("$.day", True), ("$.at", True), ("$.days[]", True)]
    assert date_fields(Plain) == [("$.day", False), ("$.at", False)]
    assert [where for where, ok in date_fields(Nested) if not ok] == ["$.plain{}.day", "$.plain{}.at"]


@pytest.fixture(scope="module")
def functions(database: Any) -> list[tuple[str, str, tuple[Operation, ...]]]:
    return declared_functions(ROOT)


def test_every_request_date_is_bounded(functions: list[tuple[str, str, tuple[Operation, ...]]]) -> None:
    unbounded, dated = [], set()
    for _, path, operations in functions:
        for op in operations:
            for part, kind in (("body", op.body), ("query", op.query)):
                for where, bounded in date_fields(kind) if kind is not None else []:
                    dated.add(f"{op.method} {path}")
                    if not bounded:
                        unbounded.append(f"{op.method} {path} {part} {where}")
    assert unbounded == []
    # The walk does see the project's dates (it would pass vacuously on a tree without any).
    assert {"GET /api/orders", "POST /api/orders/{id}/payments", "GET /api/reports/riders"} <= dated


def test_the_openapi_document_states_the_range(database: Any) -> None:
    document = project_document(ROOT)
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/api/orders"]["get"]["parameters"]}
    created_from = parameters["created_from"]["anyOf"][0]
    assert created_from["format"] == "date" and re.search(created_from["pattern"], "2026-11-25")
    assert not re.search(created_from["pattern"], "9999-12-31")
    paid_at = document["components"]["schemas"]["PaymentIn"]["properties"]["paid_at"]
    assert paid_at["format"] == "date-time" and not re.search(paid_at["pattern"], "0001-01-01T00:00:00+14:00")
