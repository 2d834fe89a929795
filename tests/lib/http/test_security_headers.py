"""The security headers and no-store are on every response the stack produces, errors included."""

from __future__ import annotations

import pytest
from httpx2 import Response

from lib.http import PUBLIC, Operation
from lib.http.security_headers import SECURITY_HEADERS

from .apps import Ok, boom, echo_client, make_client, sandboxed


def assert_secure(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["cache-control"] == "no-store"


def test_success_and_every_kind_of_error_carry_the_headers() -> None:
    client = echo_client()
    responses = {
        200: client.get("/api/echo"),
        404: client.get("/api/nope"),
        405: client.put("/api/echo"),
        413: client.post("/api/echo", content=b"x" * 5000, headers={"content-type": "application/json"}),
        403: client.post("/api/echo", json={"sku": "A", "quantity": 1}, headers={"Origin": "https://evil.example"}),
        422: client.post("/api/echo", json={"sku": "A"}),
    }
    for status, response in responses.items():
        assert response.status_code == status
        assert_secure(response)
    crash = make_client("/api/x", Operation("GET", boom, access=PUBLIC, response=Ok)).get("/api/x")
    assert crash.status_code == 500
    assert_secure(crash)


def test_hsts_is_two_years_with_subdomains_and_preload() -> None:
    hsts = echo_client().get("/api/echo").headers["strict-transport-security"]
    directives = {d.strip().split("=")[0]: d.strip() for d in hsts.split(";")}
    assert int(directives["max-age"].split("=")[1]) >= 63072000
    assert "includeSubDomains" in directives and "preload" in directives


def test_csp_forbids_everything_an_api_never_needs() -> None:
    csp = echo_client().get("/api/echo").headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("feature", ["camera", "microphone", "geolocation"])
def test_permissions_policy_disables_sensitive_features(feature: str) -> None:
    policy = echo_client().get("/api/echo").headers["permissions-policy"]
    assert f"{feature}=()" in [part.strip() for part in policy.split(",")]


def test_an_endpoint_can_tighten_a_header_for_itself() -> None:
    client = make_client("/api/file", Operation("GET", sandboxed, access=PUBLIC, response=Ok))
    response = client.get("/api/file")
    assert response.headers["content-security-policy"] == "sandbox"
    # ... and the rest of the defaults still apply.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
