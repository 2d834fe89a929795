"""Writes that a browser sent from a foreign origin are refused (CSRF); same-origin writes pass."""

from __future__ import annotations

import logging

import pytest

from lib.http import PUBLIC, Operation

from .apps import Echo, Item, echo, echo_client, make_client

ITEM = {"sku": "A-1", "quantity": 2}


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost:3000.evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_foreign_writes_are_refused(headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="zentro.security.csrf"):
        response = echo_client().post("/api/echo", json=ITEM, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_origin"
    # The client gets a generic answer; the log gets the precise reason.
    assert [r.msg for r in caplog.records] == ["csrf_rejected"]
    assert caplog.records[0].reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost:3000"},
        {"Origin": "http://LOCALHOST:3000/"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {},
    ],
)
def test_same_origin_and_non_browser_writes_pass(headers: dict[str, str]) -> None:
    response = echo_client().post("/api/echo", json=ITEM, headers=headers)
    assert response.status_code == 200


def test_form_and_text_plain_posts_from_a_foreign_origin_are_refused_before_parsing() -> None:
    client = echo_client()
    form = client.post("/api/echo", data={"sku": "A"}, headers={"Origin": "https://evil.example"})
    text = client.post(
        "/api/echo",
        content=b'{"sku":"A","quantity":1}',
        headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
    )
    assert form.status_code == text.status_code == 403
    # Same request from the app's own origin reaches validation instead (wrong media type).
    same = client.post(
        "/api/echo",
        content=b'{"sku":"A","quantity":1}',
        headers={"Origin": "http://localhost:3000", "Content-Type": "text/plain"},
    )
    assert same.status_code == 415


def test_allowlisted_cross_origin_writes_pass() -> None:
    client = echo_client(allowed_origins=("https://app.zentro.one",))
    assert (
        client.post(
            "/api/echo", json=ITEM, headers={"Origin": "https://app.zentro.one", "Sec-Fetch-Site": "same-site"}
        ).status_code
        == 200
    )
    assert client.post("/api/echo", json=ITEM, headers={"Origin": "https://evil.zentro.one"}).status_code == 403


def test_reads_are_not_subject_to_the_origin_check() -> None:
    assert echo_client().get("/api/echo", headers={"Origin": "https://evil.example"}).status_code == 200


def test_cors_echoes_only_allowlisted_origins_and_never_a_wildcard() -> None:
    client = echo_client(allowed_origins=("https://app.zentro.one",))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/api/echo", headers={"Origin": "https://app.zentro.one", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.zentro.one"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    foreign = client.options("/api/echo", headers={"Origin": "https://evil.example", **preflight})
    assert foreign.headers.get("access-control-allow-origin") is None
    assert foreign.status_code == 400
    assert foreign.json()["error"]["code"] == "cors_rejected"
    simple = client.get("/api/echo", headers={"Origin": "https://evil.example"})
    assert simple.headers.get("access-control-allow-origin") is None
    assert (
        client.get("/api/echo", headers={"Origin": "https://app.zentro.one"}).headers["access-control-allow-origin"]
        != "*"
    )


# --- the request's own origin is scheme, host and port, not the host alone ------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://localhost:3000",  # the scheme differs (the app is served over http here)
        "http://localhost:3001",  # the port differs
        "http://localhost",  # port 80, not 3000
        "http://localhost:3000/path",  # not an origin
        "http://user@localhost:3000",  # not an origin
        "http://localhost:port",  # not a port: refused, never an error
        "localhost:3000",  # no scheme
    ],
)
def test_the_same_host_under_another_scheme_or_port_is_foreign(origin: str) -> None:
    client = echo_client()
    assert client.post("/api/echo", json=ITEM, headers={"Origin": "http://localhost:3000"}).status_code == 200
    response = client.post("/api/echo", json=ITEM, headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_origin"


def test_behind_vercel_the_own_origin_is_https_whatever_the_function_sees() -> None:
    """On Vercel every browser reached the edge over https; the function itself may see http. An
    `http://` page on the same host (a downgraded or spoofed one) is another origin."""
    on_vercel = echo_client(on_vercel=True)
    assert on_vercel.post("/api/echo", json=ITEM, headers={"Origin": "https://localhost:3000"}).status_code == 200
    assert on_vercel.post("/api/echo", json=ITEM, headers={"Origin": "http://localhost:3000"}).status_code == 403
    # The same requests where the scope's scheme is the browser's (local runtime): the opposite.
    local = echo_client(on_vercel=False)
    assert local.post("/api/echo", json=ITEM, headers={"Origin": "http://localhost:3000"}).status_code == 200
    assert local.post("/api/echo", json=ITEM, headers={"Origin": "https://localhost:3000"}).status_code == 403


def test_default_ports_are_the_same_origin() -> None:
    client = make_client("/api/echo", Operation("POST", echo, access=PUBLIC, body=Item, response=Echo), on_vercel=True)
    client.base_url = "https://app.zentro.one"  # type: ignore[assignment]
    for origin in ("https://app.zentro.one", "https://app.zentro.one:443", "HTTPS://APP.ZENTRO.ONE/"):
        assert client.post("/api/echo", json=ITEM, headers={"Origin": origin}).status_code == 200, origin
    assert client.post("/api/echo", json=ITEM, headers={"Origin": "https://app.zentro.one:8443"}).status_code == 403


def test_allowlisted_origins_must_match_their_scheme() -> None:
    client = echo_client(allowed_origins=("https://app.zentro.one",))
    assert client.post("/api/echo", json=ITEM, headers={"Origin": "https://app.zentro.one"}).status_code == 200
    assert client.post("/api/echo", json=ITEM, headers={"Origin": "http://app.zentro.one"}).status_code == 403


def test_a_public_scheme_that_is_not_http_or_https_is_refused_at_build() -> None:
    from lib.http.origin_check import OriginCheckMiddleware

    OriginCheckMiddleware(echo_client().app, allowed_origins=(), public_scheme="https")
    with pytest.raises(ValueError, match="public_scheme"):
        OriginCheckMiddleware(echo_client().app, allowed_origins=(), public_scheme="HTTPS ")
