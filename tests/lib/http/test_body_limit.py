"""Bodies over the limit are refused with 413 before the handler runs."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .apps import TEST_SETTINGS, echo_client

LIMIT = TEST_SETTINGS.max_body_bytes


def body_of_size(size: int) -> bytes:
    base = json.dumps({"sku": "", "quantity": 1})
    padding = size - len(base)
    return json.dumps({"sku": "x" * padding, "quantity": 1}).encode()


def test_body_at_the_limit_is_accepted() -> None:
    body = body_of_size(LIMIT)
    assert len(body) == LIMIT
    response = echo_client().post("/api/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_one_byte_over_the_limit_is_413() -> None:
    body = body_of_size(LIMIT + 1)
    response = echo_client().post("/api/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert str(LIMIT) in response.json()["error"]["message"]


def test_chunked_body_is_counted_as_it_arrives() -> None:
    def chunks(total: int) -> Iterator[bytes]:
        body = body_of_size(total)
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    client = echo_client()
    over = client.post("/api/echo", content=chunks(LIMIT + 1), headers={"content-type": "application/json"})
    assert "content-length" not in over.request.headers
    assert over.status_code == 413
    within = client.post("/api/echo", content=chunks(LIMIT), headers={"content-type": "application/json"})
    assert within.status_code == 200


def test_malformed_content_length_is_400() -> None:
    response = echo_client().post(
        "/api/echo",
        content=b'{"sku":"a","quantity":1}',
        headers={"content-type": "application/json", "content-length": "12x"},
    )
    assert response.status_code == 400
