"""No input reaches a 500: every declared operation, fuzzed with raw bytes, query strings and ids.

tests/api/orders/test_capture.py fuzzes the fields of one route's JSON body. This module fuzzes
every operation of every api/ file (scripts.openapi.declared_functions) with two requests per
example: one as the operation declares it (its media type, a body and query string shaped by its
schemas with a few values replaced by odd ones, bytes that are not UTF-8 inside a JSON string,
ids that exist), and one of raw bytes (arbitrary, Latin-1, cut JSON, multipart envelopes, CSV)
under any Content-Type, with any query string (unknown keys, 9999-12-31 and 0001-01-01, huge
numbers, odd unicode, broken percent escapes), any `{id}` segment and any If-Match. Each
operation runs in a fresh organization (orders, a payment, a settlement) as its signed-in ADMIN,
through the local router, so a route that changes the organization (requiring MFA, ending the
session) cannot decide what another route sees. Every answer must be below 500 and, when it is
an error, carry the JSON error shape. No route is left out; what cron routes get is in `_secret`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.http.operation import Operation
from lib.http.schemas import NO_NUL, NOT_BLANK
from scripts.openapi import declared_functions
from tests.conftest import Database, sign_in
from tests.order_samples import CSV_HEADER, csv_file, csv_row, order_payload

ROOT = Path(__file__).resolve().parent.parent
_OPERATIONS = [
    pytest.param(path, op, id=f"{op.method} {path}")
    for _, path, operations in declared_functions(ROOT)
    for op in operations
]


# --- inputs ---------------------------------------------------------------------------------

_DATES = [
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "2000-01-01",
    "2100-12-31",
    "2101-01-01",
    "2026-02-30",
    "2026-11-25",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-11-25T10:00:00",
    "2026-11-25T10:00:00-05:00",
    "2026-11-25T10:00:00+0500",
    "31/12/9999",
    "00/00/0000",
]
_NUMBERS = ["9" * 40, "-" + "9" * 40, "1e309", "-1", "0", "2147483648", "9223372036854775808", "NaN", "Infinity"]
_ODD = [
    "",
    " ",
    "\x00",
    "\u202e",
    "\ud7ff",
    "😀" * 50,
    "'; DROP TABLE orders;--",
    "%",
    "%zz",
    "a" * 5000,
    "true",
    "null",
]
_interesting = st.sampled_from([*_DATES, *_NUMBERS, *_ODD]) | st.uuids().map(str) | st.text(max_size=40)
_json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _interesting
# A string that, once encoded, is replaced by bytes that are not UTF-8 (inside a JSON string).
_NOT_UTF8 = "\ue000"
_NOT_UTF8_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9t\xe9"]


def _str_values(node: msgspec.inspect.StrType) -> st.SearchStrategy[str]:
    low, high = node.min_length or 0, min(node.max_length or 60, 60)
    if node.pattern in (None, NO_NUL, NOT_BLANK):
        return st.text(min_size=max(low, 1) if node.pattern == NOT_BLANK else low, max_size=max(high, low))
    return st.from_regex(node.pattern, fullmatch=True).filter(lambda v: low <= len(v) <= (node.max_length or 10**6))


_EDGE_DAYS = [date.min, date.max, date(1999, 12, 31), date(2000, 1, 1), date(2100, 12, 31), date(2101, 1, 1)]
_EDGE_MOMENTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999Z"]


def _days() -> st.SearchStrategy[date]:
    return st.sampled_from(_EDGE_DAYS) | st.dates(date(2000, 1, 1), date(2100, 12, 31)) | st.dates()


def _values(node: msgspec.inspect.Type, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values that fit a msgspec type (dates from any year): mostly what the schema accepts."""
    t = msgspec.inspect
    if isinstance(node, t.Metadata):
        return _values(node.type, depth)
    if isinstance(node, t.StructType):
        if depth > 4:
            return st.just({})
        fields = [field for field in node.fields if not isinstance(field.type, t.NoneType)]
        required = {f.encode_name: _values(f.type, depth + 1) for f in fields if f.required}
        optional = {f.encode_name: _values(f.type, depth + 1) for f in fields if not f.required}
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(node, t.UnionType):
        members = [member for member in node.types if type(member).__name__ != "UnsetType"]
        return st.one_of([_values(member, depth) for member in members]) if members else st.none()
    if isinstance(node, t.ListType | t.SetType | t.FrozenSetType | t.VarTupleType):
        low = node.min_length or 0
        return st.lists(_values(node.item_type, depth + 1), min_size=low, max_size=max(low, 3))
    if isinstance(node, t.DictType):
        return st.dictionaries(st.text(max_size=8), _values(node.value_type, depth + 1), max_size=3)
    if isinstance(node, t.LiteralType | t.EnumType):
        return st.sampled_from(
            [getattr(value, "value", value) for value in (node.values if isinstance(node, t.LiteralType) else node.cls)]
        )
    if isinstance(node, t.IntType):
        low = node.ge if node.ge is not None else (node.gt + 1 if node.gt is not None else -(2**63))
        high = node.le if node.le is not None else (node.lt - 1 if node.lt is not None else 2**63)
        return st.integers(low, high)
    if isinstance(node, t.FloatType):
        return st.floats(node.ge, node.le, allow_nan=False, allow_infinity=False)
    if isinstance(node, t.StrType):
        return _str_values(node)
    if isinstance(node, t.DateType):
        return _days().map(date.isoformat)
    if isinstance(node, t.DateTimeType):
        moments = st.datetimes(timezones=st.none() | st.timezones())  # naive ones too: msgspec accepts them
        return st.sampled_from(_EDGE_MOMENTS) | moments.map(lambda moment: msgspec.json.encode(moment).decode()[1:-1])
    if isinstance(node, t.UUIDType):
        return st.uuids().map(str)
    if isinstance(node, t.BoolType):
        return st.booleans()
    if isinstance(node, t.NoneType):
        return st.none()
    return _json_scalar


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list) and value:
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


@st.composite
def _mutated(draw: st.DrawFn, kind: type) -> Any:
    """A value of the schema, with up to three leaves replaced by odd values."""
    value = draw(_values(msgspec.inspect.type_info(kind)))
    # Mostly whole or lightly damaged: any damage is refused first and hides what lies behind it.
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        leaf = draw(st.sampled_from(_leaves(value)))
        value = _replace(value, leaf, draw(_json_scalar | st.just(_NOT_UTF8)))
    if isinstance(value, dict) and draw(st.integers(0, 4)) == 0:
        value = {**value, draw(st.text(min_size=1, max_size=12)): draw(_json_scalar)}  # a field no schema names
    return value


@st.composite
def _schema_json(draw: st.DrawFn, kind: type) -> bytes:
    raw = json.dumps(draw(_mutated(kind)), ensure_ascii=False).encode("utf-8", "surrogatepass")
    for bad in _NOT_UTF8_BYTES:
        if _NOT_UTF8.encode() not in raw:
            break
        raw = raw.replace(_NOT_UTF8.encode(), draw(st.sampled_from([bad, *_NOT_UTF8_BYTES])), 1)
    return raw[: draw(st.integers(len(raw) // 2, len(raw)))] if draw(st.integers(0, 9)) == 0 else raw


def _csv() -> st.SearchStrategy[bytes]:
    overrides = st.dictionaries(st.sampled_from(CSV_HEADER), _interesting, max_size=3)
    rows = st.lists(st.tuples(st.sampled_from(["A-1", "A-2"]), overrides), min_size=1, max_size=3)
    return rows.map(lambda items: csv_file([csv_row(ref, **cells) for ref, cells in items]))


def _multipart() -> st.SearchStrategy[bytes]:
    part = st.binary(max_size=60) | st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass"))
    return st.builds(
        lambda name, filename, kind, content, tail: (
            b'--zb\r\nContent-Disposition: form-data; name="'
            + name
            + b'"; filename="'
            + filename
            + b'"\r\nContent-Type: '
            + kind
            + b"\r\n\r\n"
            + content
            + tail
        ),
        st.sampled_from([b"file", b"other", b""]) | part,
        st.sampled_from([b"proof.png", b"a.pdf", b"../../x.png", b""]) | part,
        st.sampled_from([b"image/png", b"application/pdf", b"image/svg+xml", b""]) | part,
        st.binary(max_size=200) | st.sampled_from([b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"%PDF-1.7\n%%EOF"]),
        st.sampled_from([b"\r\n--zb--\r\n", b"\r\n--zb", b""]),
    )


def _bodies(op: Operation) -> st.SearchStrategy[bytes]:
    latin1 = st.text(max_size=80).map(lambda t: t.encode("latin-1", "replace"))
    shaped = _schema_json(op.body) if op.body is not None else _schema_json(dict[str, Any])
    return st.one_of(
        shaped,
        shaped,
        st.just(b""),
        st.binary(max_size=300),
        latin1,
        _csv(),
        _multipart(),
        st.sampled_from([b"{", b"[", b'"', b"{}", b"null", b"[]"]),
    )


def _content_types(op: Operation) -> st.SearchStrategy[str | None]:
    usual = st.sampled_from(op.raw_body or ("application/json",))
    odd = st.sampled_from(
        [
            None,
            "application/json; charset=utf-8",
            "application/json; charset=iso-8859-1",
            "application/merge-patch+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=zb",
            "multipart/form-data",
            "text/csv; charset=utf-8",
            "\x00/\x00",
        ]
    )
    return usual | odd


def _as_query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _as_dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}  # a mutation can replace the whole value


def _query_strings(op: Operation) -> st.SearchStrategy[str]:
    mutated = (
        _mutated(op.query) if op.query is not None else st.dictionaries(st.text(max_size=12), _interesting, max_size=3)
    )
    pairs = mutated.map(lambda values: [(str(k), _as_query_value(v)) for k, v in _as_dict(values).items()])
    encoded = pairs.map(
        lambda items: "&".join(
            f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
            for k, v in items
        )
    )
    # Raw: escapes that decode to nothing valid, separators without names, a lone `=`.
    raw = st.text(alphabet="az09%=&+;:,/?[]", max_size=40)
    return st.one_of(encoded, encoded, encoded, raw)


def _path_segments(pool: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(pool),
        st.sampled_from(pool),
        st.uuids().map(str),
        st.sampled_from([*_NUMBERS, "00000000-0000-0000-0000-000000000000", "..", "%2F", "%00", "%ff"]),
        st.text(min_size=1, max_size=40).map(lambda t: quote(t.encode("utf-8", "surrogatepass"), safe="")),
    )


_IF_MATCH = st.sampled_from([None, '"1"', 'W/"1"', '"2"', '"999999999"', '"9999999999"', "*", "garbage", '"-1"', ""])


# --- a world per operation -----------------------------------------------------------------


@dataclass
class World:
    client: Any
    ids: dict[str, list[str]]  # path segment before `{id}` (orders, users...) -> ids that exist

    def pool(self, path: str) -> list[str]:
        resource = path.split("/{id}")[0].rsplit("/", 1)[-1]
        return self.ids.get(resource) or [value for values in self.ids.values() for value in values]


def _clear_throttle(database: Database) -> None:
    """The login fuzzing fails many logins from the one test address: its lock must not outlive it."""
    with database.connect("superuser") as conn:
        conn.execute("DELETE FROM auth_throttle")


def open_world(database: Database, browser: Any) -> World:
    org = database.create_org("Tienda Fuzz")
    admin = database.create_user(org, "ADMIN")
    seller = database.create_user(org, "SELLER")
    rider = database.create_user(org, "LOGISTICS")
    orders = [str(database.create_order(org, seller)) for _ in range(3)]
    client = browser()
    _clear_throttle(database)
    sign_in(client, admin)
    captured = client.post("/api/orders", json=order_payload())
    assert captured.status_code == 201, captured.text
    orders.append(captured.json()["id"])
    payment = client.post(
        f"/api/orders/{orders[-1]}/payments",
        json={
            "method": "yape",
            "amount_cents": 1000,
            "paid_at": "2026-01-05T10:00:00-05:00",
            "operation_number": "12345",
        },
    )
    assert payment.status_code == 201, payment.text
    settlement = client.post("/api/settlements", json={"rider_id": str(rider.id)})
    assert settlement.status_code == 201, settlement.text
    with database.connect("superuser") as conn:
        customers = [str(row[0]) for row in conn.execute("SELECT id FROM customers WHERE org_id = %s", (org,))]
    return World(
        client=client,
        ids={
            "orders": orders,
            "users": [str(admin.id), str(seller.id), str(rider.id)],
            "payments": [payment.json()["id"]],
            "settlements": [settlement.json()["id"]],
            "customers": customers,
        },
    )


@pytest.fixture(scope="module", autouse=True)
def _no_lock_left_behind(database: Database) -> Any:
    yield
    _clear_throttle(database)


# --- the property ------------------------------------------------------------------------------


def assert_no_500(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json", f"{what} -> {response.text[:200]}"
        error = response.json()["error"]
        assert error["code"] and error["message"] and error["request_id"], what


@dataclass(frozen=True)
class Attempt:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def send(self, client: Any) -> Any:
        return client.request(self.method, self.url, content=self.body, headers=self.headers)


def _declared_body(op: Operation) -> st.SearchStrategy[tuple[str | None, bytes]]:
    """A body of the declared media type, shaped like the declared schema and then damaged."""
    if op.body is not None:
        return st.tuples(st.just("application/json"), _schema_json(op.body))
    if "text/csv" in op.raw_body:
        return st.tuples(st.just("text/csv"), _csv())
    if op.raw_body:
        return st.tuples(st.just("multipart/form-data; boundary=zb"), _multipart())
    return st.just((None, b""))


def _secret(op: Operation, body: bytes) -> dict[str, str]:
    """A cron route gets its secret only with a body, which it refuses (422) before its job runs.

    With the secret and no body a cron runs its job, which reads no input at all (and
    /api/cron/zeus answers 500 by design when Browserbase refuses the key): not input handling.
    Without the secret every cron answers 401, whatever else the request carries."""
    if op.access.kind != "cron" or not body:
        return {}
    return {"Authorization": f"Bearer {os.environ['CRON_SECRET']}"}


@st.composite
def _attempts(draw: st.DrawFn, op: Operation, path: str, pool: list[str]) -> list[Attempt]:
    """Two requests: one as the operation declares it (media type, schema shape, real ids) with
    damage, one with raw bytes under any media type."""
    attempts = []
    for declared in (True, False):
        content_type, body = draw(_declared_body(op)) if declared else (draw(_content_types(op)), draw(_bodies(op)))
        segment = draw(st.sampled_from(pool) if declared else _path_segments(pool))
        query = draw(_query_strings(op))
        headers = {"Accept-Language": draw(st.sampled_from(["es", "en"])), **_secret(op, body)}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if_match = draw(_IF_MATCH)
        if if_match is not None:
            headers["If-Match"] = if_match
        url = path.replace("{id}", segment) + (f"?{query}" if query else "")
        attempts.append(Attempt(op.method, url, headers, body))
    return attempts


@pytest.mark.parametrize(("path", "op"), _OPERATIONS)
def test_no_input_reaches_a_500(database: Database, browser: Any, path: str, op: Operation) -> None:
    world = open_world(database, browser)

    @settings(
        # A schema is where the deep paths are; without one only bytes, ids and headers vary.
        max_examples=30 if op.body is not None or op.query is not None else 10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(attempts=_attempts(op, path, world.pool(path)))
    def fuzz(attempts: list[Attempt]) -> None:
        for attempt in attempts:
            assert_no_500(
                attempt.send(world.client), f"{attempt.method} {attempt.url} {attempt.headers} {attempt.body[:300]!r}"
            )

    fuzz()


def test_the_property_sees_every_operation_and_fails_on_a_500(router: Any) -> None:
    """It covers every declared operation, and the check it makes does fail on a 500."""
    assert {f"{op.method} {path}" for path, op in (param.values for param in _OPERATIONS)} >= {
        "POST /api/auth/login",
        "GET /api/orders",
        "GET /api/cron/outbox",
        "PUT /api/payments/{id}/proof",
    }

    broken = SimpleNamespace(status_code=500, text="Internal Server Error", headers={"content-type": "text/plain"})
    plain = SimpleNamespace(status_code=404, text="404: NOT_FOUND", headers={"content-type": "text/plain"})
    with pytest.raises(AssertionError, match="-> 500"):
        assert_no_500(broken, "GET /x")
    with pytest.raises(AssertionError, match="404: NOT_FOUND"):
        assert_no_500(plain, "GET /x")
    assert_no_500(router_answer(router), "GET /api/health")


def router_answer(router: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(router, base_url="http://localhost:3000").get("/api/nothing")


# --- the inputs issue 17 names, each refused where it used to be a 500 ---------------------------


def test_the_inputs_the_issue_names_are_refused_with_the_field_named(database: Database, browser: Any) -> None:
    world = open_world(database, browser)
    order, payment = world.ids["orders"][-1], world.ids["payments"][0]
    client = world.client
    not_utf8 = [b'{"email": "\xff", "password": "x"}', '{"email": "josé@ejemplo.pe"}'.encode("latin-1")]
    for path in ("/api/auth/login", "/api/auth/password_reset"):
        for body in not_utf8:
            response = browser().post(path, content=body, headers={"Content-Type": "application/json"})
            assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json"), path
    assert browser().post("/api/auth/password_reset", json={"email": "josé@ejemplo.pe"}).status_code == 202

    refused_queries = [
        ("/api/orders?created_to=9999-12-31", "$.created_to"),
        ("/api/orders?created_from=0001-01-01", "$.created_from"),
        ("/api/orders/export?created_from=0001-01-01", "$.created_from"),
        ("/api/reports/riders?day=9999-12-31", "$.day"),
    ]
    for url, field in refused_queries:
        response = client.get(url)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
        assert (
            client.get(url.replace("9999-12-31", "2100-12-31").replace("0001-01-01", "2000-01-01")).status_code == 200
        )

    year_zero = "0001-01-01T00:00:00+14:00"
    refused_bodies = [
        (
            "POST",
            f"/api/orders/{order}/payments",
            {"method": "card", "amount_cents": 100, "paid_at": year_zero},
            "$.paid_at",
        ),
        (
            "POST",
            f"/api/orders/{order}/payments",
            {"method": "card", "amount_cents": 100, "paid_at": "2026-01-05T10:00:00"},
            "$.paid_at",
        ),
        ("PATCH", f"/api/payments/{payment}", {"paid_at": year_zero}, "$.paid_at"),
        (
            "POST",
            f"/api/orders/{order}/cash_collections",
            {"amount_cents": 100, "collected_at": year_zero},
            "$.collected_at",
        ),
        ("POST", "/api/orders", order_payload(delivery_date="9999-12-31"), "$.delivery_date"),
    ]
    for method, url, body, field in refused_bodies:
        response = client.request(method, url, json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 422, (method, url, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    accepted = client.post(
        f"/api/orders/{order}/payments",
        json={"method": "card", "amount_cents": 100, "paid_at": "2026-01-05T10:00:00-05:00"},
    )
    assert accepted.status_code == 201, accepted.text

    far = csv_file([csv_row("F-1", fecha_entrega="31/12/9999")])
    report = client.post("/api/orders/imports?dry_run=true", content=far, headers={"Content-Type": "text/csv"}).json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "delivery_date")]
    near = csv_file([csv_row("F-1", fecha_entrega="31/12/2100")])
    report = client.post("/api/orders/imports?dry_run=true", content=near, headers={"Content-Type": "text/csv"}).json()
    assert report["errors"] == []
