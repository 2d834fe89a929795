"""The local Vercel runtime: the real project through the `client` fixture, and routing features
on a small synthetic project written into tmp_path (files that echo what they receive)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from lib.http.security_headers import SECURITY_HEADERS
from scripts.localvercel.asgi import create_app
from scripts.localvercel.config import VercelConfigError

SOURCE_PATHS = [
    "/lib/config.py",
    "/db/env.py",
    "/tests/conftest.py",
    "/scripts/migrate.py",
    "/requirements.txt",
    "/vercel.json",
]


def assert_security_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


# --- the real project, in-process ---------------------------------------------------------


def test_health_is_served_with_the_security_headers(client: Any) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert_security_headers(response)


def test_security_txt_is_static_text(client: Any) -> None:
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Contact:" in response.text
    assert_security_headers(response)


@pytest.mark.parametrize("path", SOURCE_PATHS)
def test_source_files_are_never_served(client: Any, path: str) -> None:
    assert client.get("/robots.txt").status_code == 200
    response = client.get(path)
    assert response.status_code == 404
    assert response.text.startswith("404: NOT_FOUND")
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/.env", "/.git/HEAD"])
def test_probes_are_denied(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 403
    assert_security_headers(response)


def test_trace_is_refused(client: Any) -> None:
    assert client.get("/robots.txt").status_code == 200
    response = client.request("TRACE", "/")
    assert response.status_code == 405
    assert_security_headers(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/x"),
        ("POST", "/api/x"),
        ("GET", "/api"),
        ("GET", "/api/_nothing"),  # `_` files are bundled, never served
        ("DELETE", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/nothing"),
        ("PATCH", "/API/HEALTH/X"),
        ("GET", "/api/health.py/"),
    ],
)
def test_unknown_api_paths_answer_the_json_error_shape(client: Any, method: str, path: str) -> None:
    # The platform's own answer would be `404: NOT_FOUND` in plain text (pages still get it).
    assert client.get("/api/health").status_code == 200
    response = client.request(method, path, headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "request_id": response.headers["x-request-id"]}
    }
    assert response.headers["cache-control"] == "no-store"
    assert_security_headers(response)
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.text.startswith("404: NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_trailing_slash_is_a_json_404_without_a_redirect(client: Any, method: str) -> None:
    assert client.get("/api/health").status_code == 200
    response = client.request(method, "/api/health/", follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["cache-control"] == "no-store"
    assert_security_headers(response)


# --- a synthetic project -------------------------------------------------------------------

ECHO = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request):
    body = {
        "file": __file__.rsplit("/api/", 1)[1],
        "path": request.url.path,
        "query": request.url.query,
        "headers": dict(request.headers),
    }
    own = {"X-Frame-Options": "SAMEORIGIN"} if request.query_params.get("own") else {}
    return JSONResponse(body, headers=own)


app = Starlette(routes=[Route("/{rest:path}", echo, methods=["GET", "HEAD", "POST"])])
"""

VERCEL_JSON: dict[str, Any] = {
    "framework": None,
    "routes": [
        {"src": "/(.*)", "headers": {"X-Frame-Options": "DENY", "X-Route": "global"}, "continue": True},
        {"src": "/old/(?<rest>.*)", "status": 308, "headers": {"Location": "/new/$rest"}},
        {"src": "/status", "dest": "/api/ping?from=status"},
        {"src": "/write-only", "methods": ["POST"], "dest": "/api/ping"},
        {"src": "/(\\.env.*|\\.git(/.*)?)", "mitigate": {"action": "deny"}},
    ],
}


def write_project(root: Path, vercel_json: dict[str, Any]) -> Path:
    files = {
        "api/orders/[id].py": ECHO,
        "api/orders/index.py": ECHO,
        "api/ping.py": ECHO,
        "api/_private.py": ECHO,
        "api/_lib/helper.py": ECHO,
        "public/hello.txt": "hello\n",
        "public/docs/index.html": "<p>docs</p>\n",
        "requirements.txt": "starlette\n",
        "vercel.json": json.dumps(vercel_json),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def site(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(write_project(tmp_path, VERCEL_JSON)), base_url="http://localhost:3000") as test_client:
        yield test_client


def test_a_dynamic_segment_becomes_a_query_parameter(site: TestClient) -> None:
    response = site.get("/api/orders/42?x=1")
    assert response.status_code == 200
    body = response.json()
    assert (body["file"], body["path"], body["query"]) == ("orders/[id].py", "/api/orders/42", "x=1&id=42")
    assert site.get("/api/orders/42/extra").status_code == 404


@pytest.mark.parametrize("path", ["/api/orders", "/api/orders/", "/api/orders/index", "/api/orders/index.py"])
def test_an_index_file_serves_its_directory(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 200
    expected = "orders/[id].py" if path.endswith(".py") else "orders/index.py"  # [id] matches `index.py`
    assert response.json()["file"] == expected


@pytest.mark.parametrize("path", ["/api/_private", "/api/_private.py", "/api/_lib/helper"])
def test_underscore_files_are_not_served(site: TestClient, path: str) -> None:
    assert site.get("/api/ping").status_code == 200
    response = site.get(path)
    assert response.status_code == 404
    assert response.headers["x-route"] == "global"


def test_a_rewrite_serves_the_destination_with_the_browser_path(site: TestClient) -> None:
    body = site.get("/status").json()
    assert (body["file"], body["path"], body["query"]) == ("ping.py", "/status", "from=status")


def test_a_redirect_route_answers_with_its_location(site: TestClient) -> None:
    response = site.get("/old/a/b", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/new/a/b"
    assert response.headers["x-route"] == "global"
    assert site.get("/older/a", follow_redirects=False).status_code == 404


def test_a_methods_route_only_matches_its_methods(site: TestClient) -> None:
    assert site.post("/write-only").json()["file"] == "ping.py"
    assert site.get("/write-only").status_code == 404


@pytest.mark.parametrize("path", ["/.env", "/.ENV", "/.Env.Local", "/.git/config", "/.GIT/HEAD"])
def test_deny_matches_case_insensitively(site: TestClient, path: str) -> None:
    assert site.get("/api/ping").status_code == 200
    response = site.get(path)
    assert response.status_code == 403
    assert response.headers["x-route"] == "global"


def test_route_headers_yield_to_the_functions_own(site: TestClient) -> None:
    plain = site.get("/api/ping")
    assert (plain.headers["x-frame-options"], plain.headers["x-route"]) == ("DENY", "global")
    own = site.get("/api/ping?own=1")
    assert (own.headers["x-frame-options"], own.headers["x-route"]) == ("SAMEORIGIN", "global")


def test_the_function_sees_vercel_proxy_headers_not_the_clients(site: TestClient) -> None:
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Real-IP": "203.0.113.9",
        "X-Vercel-Forwarded-For": "203.0.113.9",
        "X-Vercel-IP-Country": "XX",
        "X-Forwarded-Host": "evil.example",
    }
    honest = site.get("/api/ping").json()["headers"]
    seen = site.get("/api/ping", headers=forged).json()["headers"]
    for name in ("x-forwarded-for", "x-real-ip", "x-vercel-forwarded-for"):
        assert seen[name] == honest[name] == "testclient"  # the socket peer TestClient reports
    assert "x-vercel-ip-country" not in seen
    assert seen["x-forwarded-host"] == "localhost:3000"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-vercel-id"].startswith("lcl1::")
    assert seen["x-vercel-id"] != honest["x-vercel-id"]


def test_static_files_get_and_head_only(site: TestClient) -> None:
    response = site.get("/hello.txt")
    assert (response.status_code, response.text) == (200, "hello\n")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-route"] == "global"
    head = site.head("/hello.txt")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "6")
    assert site.post("/hello.txt").status_code == 405
    assert site.get("/docs").headers["content-type"] == "text/html; charset=utf-8"


def test_trace_is_refused_on_a_function(site: TestClient) -> None:
    assert site.get("/api/ping").status_code == 200
    assert site.request("TRACE", "/api/ping").status_code == 405


def test_dev_routes_answer_before_routing(tmp_path: Path) -> None:
    async def openapi(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("local only")(scope, receive, send)

    root = write_project(tmp_path, VERCEL_JSON)
    with TestClient(create_app(root, dev_routes={"/_local/openapi.json": openapi})) as with_dev:
        assert with_dev.get("/_local/openapi.json").text == "local only"
    with TestClient(create_app(root)) as without:
        assert without.get("/_local/openapi.json").status_code == 404


def test_an_invalid_vercel_json_refuses_to_load(tmp_path: Path) -> None:
    root = write_project(tmp_path, VERCEL_JSON)
    create_app(root)
    write_project(root, {**VERCEL_JSON, "headers": [{"source": "/(.*)", "headers": []}]})
    with pytest.raises(VercelConfigError, match="cannot be combined with `headers`"):
        create_app(root)


def test_a_project_without_public_refuses_to_load(tmp_path: Path) -> None:
    root = write_project(tmp_path, VERCEL_JSON)
    create_app(root)
    for path in sorted((root / "public").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (root / "public").rmdir()
    with pytest.raises(VercelConfigError, match="no public/ directory"):
        create_app(root)
