"""vercel.json: valid for Vercel, implementable locally, and saying what the security page promises.

Each negative case starts from the real vercel.json, shows it passing, then changes one thing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lib.http.security_headers import SECURITY_HEADERS
from scripts.localvercel.asgi import local_router
from scripts.localvercel.config import FORBIDDEN_WITH_ROUTES, load_vercel_json, validate_vercel_config
from scripts.localvercel.filesystem import FilesystemIndex
from scripts.localvercel.globs import glob_match
from scripts.localvercel.interpreter import Router
from scripts.localvercel.project import scan_project, validate_project
from scripts.localvercel.routes import build_route_table

ROOT = Path(__file__).resolve().parent.parent

DENIED = ["/.env", "/.env.local", "/.git/HEAD", "/.git/config", "/wp-admin/", "/wp-login.php"]
DENIED_UPPER = ["/.ENV", "/.ENV.LOCAL", "/.Env.Local", "/.GIT/HEAD", "/.Git/Config", "/WP-ADMIN/", "/WP-LOGIN.PHP"]
ALLOWED = ["/api/health", "/.well-known/security.txt", "/robots.txt"]
FORBIDDEN_VALUES: dict[str, Any] = {
    "headers": [{"source": "/(.*)", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]}],
    "rewrites": [{"source": "/x", "destination": "/api/health"}],
    "redirects": [{"source": "/old", "destination": "/new", "permanent": True}],
    "cleanUrls": True,
    "trailingSlash": False,
}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_vercel_json(ROOT)


@pytest.fixture(scope="module")
def router() -> Router:
    return local_router(ROOT)


def test_the_real_vercel_json_passes(config: dict[str, Any]) -> None:
    assert validate_vercel_config(config) == []
    assert validate_project(scan_project(ROOT), config) == []


@pytest.mark.parametrize("key", FORBIDDEN_WITH_ROUTES)
def test_routes_mixed_with_a_newer_routing_key_is_flagged(config: dict[str, Any], key: str) -> None:
    assert validate_vercel_config(config) == []
    mixed = {**config, key: FORBIDDEN_VALUES[key]}
    problems = validate_vercel_config(mixed)
    assert any(f"`routes` cannot be combined with `{key}`" in problem for problem in problems), problems


def test_a_framework_preset_is_flagged(config: dict[str, Any]) -> None:
    assert config["framework"] is None
    assert validate_vercel_config(config) == []
    for preset in ("fastapi", "python", "flask"):
        assert any("`framework` must be null" in p for p in validate_vercel_config({**config, "framework": preset}))
    without = {key: value for key, value in config.items() if key != "framework"}
    assert any("`framework` must be null" in p for p in validate_vercel_config(without))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"has": [{"type": "header", "key": "x-debug"}]}, "route key `has`"),
        ({"missing": [{"type": "cookie", "key": "session"}]}, "route key `missing`"),
        ({"mitigate": {"action": "challenge"}}, "only `mitigate: {action: deny}`"),
        ({"dest": "https://example.com/x"}, "external rewrites"),
        ({"src": "/(unclosed"}, "not a valid regular expression"),
    ],
)
def test_route_features_the_local_router_lacks_are_flagged(
    config: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    assert validate_vercel_config(config) == []
    changed = copy.deepcopy(config)
    deny = next(route for route in changed["routes"] if "mitigate" in route)
    deny.update(change)
    assert any(message in problem for problem in validate_vercel_config(changed)), validate_vercel_config(changed)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([{"handle": "rewrite"}], "`handle: rewrite` is not implemented"),
        ([{"handle": "resource"}], "`handle: resource` is not implemented"),
        ([{"handle": "error"}, {"src": "/x", "status": 404, "dest": "/y"}, {"handle": "error"}], "appears twice"),
        ([{"handle": "filesystem", "src": "/x"}], "a `handle` marker has no other key"),
        ([{"handle": "error"}, {"src": "/api(/.*)?", "dest": "/api/health"}], "names the status it answers"),
        ([{"handle": "miss"}, {"src": "/x", "dest": "/api/health"}], "needs `check: true`"),
        ([{"handle": "miss"}, {"src": "/x", "headers": {"X-A": "1"}}], "needs `check: true`"),
        ([{"handle": "hit"}, {"src": "/x", "dest": "/y", "continue": True}], "after `handle: hit`"),
        ([{"handle": "hit"}, {"src": "/x", "headers": {"X-A": "1"}}], "after `handle: hit`"),
    ],
)
def test_handle_phases_vercel_or_the_interpreter_would_not_honour_are_flagged(
    config: dict[str, Any], routes: list[dict[str, Any]], message: str
) -> None:
    assert validate_vercel_config(config) == []
    before = [route for route in config["routes"] if "handle" not in route and "mitigate" in route]
    changed = {**config, "routes": [*before, *routes]}
    assert any(message in problem for problem in validate_vercel_config(changed)), validate_vercel_config(changed)


def test_phases_that_vercel_and_the_interpreter_honour_pass(config: dict[str, Any]) -> None:
    routes = [
        {"src": "/(.*)", "headers": {"X-A": "1"}, "continue": True},
        {"handle": "filesystem"},
        {"src": "/old", "dest": "/api/health"},
        {"handle": "miss"},
        {"src": "/api/old-(.*)", "dest": "/api/$1", "check": True},
        {"handle": "hit"},
        {"src": "/robots\\.txt", "headers": {"X-Hit": "1"}, "continue": True},
        {"handle": "error"},
        {"src": "/api(/.*)?", "status": 404, "dest": "/api/health"},
    ]
    assert validate_vercel_config({**config, "routes": routes}) == []


def test_unknown_api_paths_reach_a_function_that_answers_404(config: dict[str, Any], router: Router) -> None:
    """The platform's own answer to an /api path no function serves is `404: NOT_FOUND` in plain
    text; the error phase hands it to a function instead, which answers our JSON error shape."""
    for method, path in [("GET", "/api/nothing"), ("POST", "/api/orders/42/nothing"), ("GET", "/api")]:
        decision = router.decide(method, path)
        assert (decision.kind, decision.status, decision.target) == ("function", 404, "api/health"), path
        assert decision.header("cache-control") == "no-store" or path == "/api"
    # A path the function serves is not an error, and a page is still the platform's 404.
    assert router.decide("GET", "/api/health").status is None
    assert router.decide("GET", "/nothing").kind == "error"
    # Without the error route, the same request is the platform's plain-text 404.
    plain = Router(
        build_route_table({**config, "routes": config["routes"][:-2]}, scan_project(ROOT).function_files),
        FilesystemIndex.from_project(scan_project(ROOT)),
    )
    assert (plain.decide("GET", "/api/nothing").kind, plain.decide("GET", "/api/nothing").status) == ("error", 404)


def test_the_global_header_route_is_exactly_the_security_headers(config: dict[str, Any]) -> None:
    global_routes = [route for route in config["routes"] if route.get("src") == "/(.*)" and "headers" in route]
    assert len(global_routes) == 1
    assert global_routes[0]["headers"] == dict(SECURITY_HEADERS)
    assert global_routes[0]["continue"] is True


@pytest.mark.parametrize("path", DENIED + DENIED_UPPER)
def test_probe_paths_are_denied(router: Router, path: str) -> None:
    assert router.decide("GET", "/api/health").kind == "function"
    decision = router.decide("GET", path)
    assert (decision.kind, decision.status) == ("deny", 403)


@pytest.mark.parametrize("path", ALLOWED)
def test_real_paths_are_not_denied(router: Router, path: str) -> None:
    assert router.decide("GET", "/.env").kind == "deny"
    assert router.decide("GET", path).kind in ("function", "static")


def test_every_cron_path_is_an_api_cron_file(config: dict[str, Any], router: Router) -> None:
    assert config["crons"]
    for cron in config["crons"]:
        assert set(cron) == {"path", "schedule"}
        assert cron["path"].startswith("/api/cron/")
        assert (ROOT / f"{cron['path'].lstrip('/')}.py").is_file()
        decision = router.decide("GET", cron["path"])
        assert (decision.kind, decision.status, decision.target) == ("function", None, cron["path"].lstrip("/"))
    missing = router.decide("GET", "/api/cron/no_such_job")
    assert (missing.status, missing.target) == (404, "api/health")  # the JSON 404, not the job


def test_each_functions_glob_matches_a_file(config: dict[str, Any]) -> None:
    files = scan_project(ROOT).function_files
    for pattern in config["functions"]:
        assert [file for file in files if glob_match(pattern, file)], pattern
    assert not any(glob_match("api/nothing/*.py", file) for file in files)
    problems = validate_project(
        scan_project(ROOT), {**config, "functions": {**config["functions"], "api/nothing/*.py": {"memory": 1024}}}
    )
    assert problems == ["functions['api/nothing/*.py'] matches no function file (the build would fail)"]
