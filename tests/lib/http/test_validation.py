"""Bodies are typed: wrong types, unknown fields, bad JSON and wrong media types are 4xx."""

from __future__ import annotations

import pytest

from .apps import echo_client


def test_a_valid_body_reaches_the_handler() -> None:
    response = echo_client().post("/api/echo", json={"sku": "A-1", "quantity": 3})
    assert response.status_code == 200
    assert response.json()["quantity"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "A-1", "quantity": "three"}, "$.quantity"),
        ({"sku": "A-1"}, "$"),
        ({"sku": "A-1", "quantity": 1, "org_id": "00000000-0000-0000-0000-000000000000"}, "$"),
        ({"sku": "A-1", "quantity": 1, "role": "ADMIN"}, "$"),
        ([1, 2], "$"),
    ],
)
def test_invalid_bodies_are_422_with_the_field(body: object, field: str) -> None:
    response = echo_client().post("/api/echo", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"][0]["field"] == field


@pytest.mark.parametrize("raw", [b'{"sku": "A-1", "quantity": 3.0}', b'{"sku": "A-1", "quantity": 3e0}'])
def test_an_integer_written_with_a_zero_fraction_is_an_integer(raw: bytes) -> None:
    # JSON Schema's `integer` (what the OpenAPI document says) is any number without a fraction.
    response = echo_client().post("/api/echo", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["quantity"] == 3


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"sku": "A-1", "quantity": 3.5}', "Expected `int`, got `float`"),
        (b'{"sku": "A-1", "quantity": 3.0, "role": "ADMIN"}', "unknown field"),  # the slow path checks all the same
    ],
)
def test_a_fraction_is_still_not_an_integer(raw: bytes, reason: str) -> None:
    response = echo_client().post("/api/echo", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert reason in response.json()["error"]["details"][0]["reason"]


def test_unknown_fields_name_the_field() -> None:
    response = echo_client().post("/api/echo", json={"sku": "A", "quantity": 1, "created_by": "x"})
    assert "created_by" in response.json()["error"]["details"][0]["reason"]


@pytest.mark.parametrize("raw", [b"{", b"", b"\xff\xfe", b'{"sku": "A", "quantity": 1'])
def test_malformed_json_is_400(raw: bytes) -> None:
    response = echo_client().post("/api/echo", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_non_json_media_type_is_415() -> None:
    response = echo_client().post(
        "/api/echo", content=b"sku=A&quantity=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_body_on_an_operation_that_takes_none_is_refused() -> None:
    response = echo_client().request("GET", "/api/echo", content=b'{"x": 1}')
    assert response.status_code == 422


def test_nul_characters_are_refused_before_reaching_the_database() -> None:
    response = echo_client().post("/api/echo", json={"sku": "A\u0000B", "quantity": 1})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "$.sku"
    assert echo_client().post("/api/echo", json={"sku": "AB", "quantity": 1}).status_code == 200


# --- bytes that are not UTF-8 (issue 17: they reached msgspec as UnicodeDecodeError, a 500) -------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"sku": "\xff", "quantity": 1}',  # a byte no UTF-8 text has, inside a string
        '{"sku": "Año", "quantity": 1}'.encode("latin-1"),  # a Latin-1 body
        b'{"sku": "\xed\xa0\x80", "quantity": 1}',  # an encoded surrogate
        b'{"sku": "\xc3", "quantity": 1}',  # a truncated sequence
    ],
)
def test_bytes_that_are_not_utf8_are_invalid_json(raw: bytes) -> None:
    client = echo_client()
    response = client.post("/api/echo", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    utf8 = client.post(
        "/api/echo", content='{"sku": "Año", "quantity": 1}'.encode(), headers={"content-type": "application/json"}
    )
    assert utf8.status_code == 200 and utf8.json()["sku"] == "Año"


# --- the media type of a JSON body --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json ; Charset = utf-8 ",
        "application/json;",
    ],
)
def test_json_with_no_charset_or_utf8_is_accepted(content_type: str) -> None:
    response = echo_client().post(
        "/api/echo", content=b'{"sku": "A", "quantity": 1}', headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "content_type",
    [
        "application/merge-patch+json",
        "application/vnd.evil+json",
        "text/json",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        "application/json; charset=utf8",
        "application/json; boundary=x",
        "application/json; charset=utf-8; charset=latin1",
        "application/jsonx",
        "",
    ],
)
def test_other_media_types_and_charsets_are_415(content_type: str) -> None:
    client = echo_client()
    body = b'{"sku": "A", "quantity": 1}'
    assert client.post("/api/echo", content=body, headers={"content-type": "application/json"}).status_code == 200
    response = client.post("/api/echo", content=body, headers={"content-type": content_type})
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "application/json; charset=utf-8" in error["message"]
