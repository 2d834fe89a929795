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
