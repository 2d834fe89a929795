"""Every error has one shape, a machine code, a Spanish or English message, and no trace."""

from __future__ import annotations

import logging

import pytest

from lib.http import PUBLIC, ApiError, Operation
from lib.http.messages import MESSAGES, negotiate_language

from .apps import Ok, boom, echo_client, forbidden, make_client


def test_unknown_path_is_a_json_404_in_spanish_by_default() -> None:
    response = echo_client().get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {"code": "not_found", "message": "No encontrado.", "request_id": response.headers["x-request-id"]}
    }


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("en", "Not found."),
        ("en-US,en;q=0.9,es;q=0.8", "Not found."),
        ("es-PE,es;q=0.9,en;q=0.8", "No encontrado."),
        ("fr-FR, de;q=0.5", "No encontrado."),
        ("es;q=0.2, en;q=0.7", "Not found."),
        ("", "No encontrado."),
    ],
)
def test_message_language_follows_accept_language(accept_language: str, expected: str) -> None:
    response = echo_client().get("/api/nothing-here", headers={"Accept-Language": accept_language})
    assert response.json()["error"]["message"] == expected


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_a_trailing_slash_is_a_404_not_a_redirect(method: str) -> None:
    # Starlette's slash redirect answered 307 to http://<Host header>/api/echo: a redirect to
    # whatever host the client named, over http. The path without the slash is the only one served.
    client = echo_client()
    body = {"json": {"sku": "A", "quantity": 1}} if method == "POST" else {}
    assert client.request(method, "/api/echo", **body).status_code == 200
    response = client.request(method, "/api/echo/", follow_redirects=False, headers={"Host": "evil.example"}, **body)
    assert response.status_code == 404
    assert "location" not in response.headers
    if method != "HEAD":
        assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_with_allow() -> None:
    response = echo_client().delete("/api/echo")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


def test_trace_is_refused() -> None:
    response = echo_client().request("TRACE", "/api/echo")
    assert response.status_code == 405


def test_typed_errors_keep_their_code_and_status() -> None:
    client = make_client("/api/x", Operation("GET", forbidden, access=PUBLIC, response=Ok))
    response = client.get("/api/x", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert response.json()["error"]["message"] == "You do not have permission for this action."


def test_unexpected_exception_is_a_generic_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    client = make_client("/api/x", Operation("GET", boom, access=PUBLIC, response=Ok))
    with caplog.at_level(logging.ERROR, logger="zentro.http"):
        response = client.get("/api/x")
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "error": {
            "code": "internal_error",
            "message": "Ocurrió un error inesperado. Si persiste, repórtalo con el request_id.",
            "request_id": response.headers["x-request-id"],
        }
    }
    assert "hunter2" not in response.text and "Traceback" not in response.text and "RuntimeError" not in response.text
    # The bug is not swallowed: it is logged with its traceback.
    assert any(record.exc_info and record.exc_info[0] is RuntimeError for record in caplog.records)


def test_every_error_code_has_both_languages() -> None:
    for code, (spanish, english) in MESSAGES.items():
        assert spanish.strip() and english.strip() and spanish != english, code
    with pytest.raises(ValueError, match="has no message"):
        ApiError("no_such_code", 400)


def test_language_negotiation_defaults_to_spanish() -> None:
    assert negotiate_language(None) == "es"
    assert negotiate_language("en;q=0") == "es"
    assert negotiate_language("EN-gb") == "en"
