"""The local route table and filesystem decide every request as Vercel's compiled ones do.

Both sides run through the same interpreter (scripts/localvercel/interpreter.py); what differs
is where the routes and files come from: generated from the checkout, or compiled by the real
`vercel build` (CLI pinned in scripts/vercel-cli, installed on demand, offline). So a difference
here is a difference in what Vercel would deploy. Part (a) is this project; part (b) is a
synthetic project using the routing features this project does not use yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.localvercel.build import ensure_build
from scripts.localvercel.filesystem import FilesystemIndex
from scripts.localvercel.interpreter import Router
from scripts.localvercel.routes import load_project, routes_equal

ROOT = Path(__file__).resolve().parent.parent


class Pair:
    """The same project seen twice: generated locally, and compiled by `vercel build`."""

    def __init__(self, root: Path, output: Path) -> None:
        _, project, self.local_routes = load_project(root)
        self.compiled_routes: list[dict[str, Any]] = json.loads((output / "config.json").read_text())["routes"]
        self.local_fs = FilesystemIndex.from_project(project)
        self.compiled_fs = FilesystemIndex.from_output(output)
        self.local = Router(self.local_routes, self.local_fs)
        self.compiled = Router(self.compiled_routes, self.compiled_fs)

    def assert_same(self, method: str, path: str) -> Any:
        local, compiled = self.local.decide(method, path), self.compiled.decide(method, path)
        assert local == compiled, f"{method} {path}"
        return local


# --- (a) this project ----------------------------------------------------------------------

PROJECT_REQUESTS = [
    ("GET", "/api/health"),
    ("HEAD", "/api/health"),
    ("POST", "/api/health"),
    ("GET", "/api/health/"),
    ("GET", "/api/health.py"),
    ("GET", "/API/HEALTH"),
    ("GET", "/api/cron/retention"),
    ("GET", "/api/users"),
    ("GET", "/api/users/"),
    ("GET", "/api/users/index"),
    ("GET", "/api/users/0b6a2d8e-0000-4000-8000-000000000001"),
    ("PATCH", "/api/users/not-a-uuid"),
    ("DELETE", "/api/users/abc/mfa"),
    ("GET", "/api/users/abc/mfa/extra"),
    ("POST", "/api/auth/password_reset/confirm"),
    ("POST", "/api/auth/password_reset/confirm.py"),
    ("GET", "/api/cron/retention.py"),
    ("GET", "/api/orders"),
    ("GET", "/api/orders/"),
    ("GET", "/api/orders/index"),
    ("GET", "/api/orders/export"),
    ("GET", "/api/orders/export.py"),
    ("POST", "/api/orders/imports"),
    ("GET", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11"),
    ("PATCH", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11"),
    ("POST", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/transitions"),
    ("GET", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/timeline"),
    ("GET", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/other"),
    ("GET", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/payments"),
    ("POST", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/cash_collections"),
    ("GET", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/shipment"),
    ("GET", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/shipment/screenshot"),
    ("PUT", "/api/integrations/zeus"),
    ("POST", "/api/integrations/zeus/test"),
    ("GET", "/api/integrations/zeus/other"),
    ("GET", "/api/cron/zeus"),
    ("GET", "/api/payments/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11"),
    ("PUT", "/api/payments/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/proof"),
    ("POST", "/api/payments/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/review"),
    ("GET", "/api/settlements"),
    ("GET", "/api/settlements/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11"),
    ("POST", "/api/settlements/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/close"),
    ("GET", "/api/reports/riders"),
    ("POST", "/api/customers/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/anonymise"),
    ("POST", "/api/customers/lookup"),
    ("GET", "/api"),
    ("GET", "/api/"),
    ("GET", "/api/nothing"),
    ("POST", "/api/nothing"),
    ("DELETE", "/API/NOTHING/ELSE"),
    ("GET", "/api/nothing.py"),
    ("GET", "/api/health/extra"),
    ("GET", "/api/_private"),
    ("PUT", "/api/orders/7a1c9e4e-1f0b-4c52-9a55-3d2b8f0e6a11/nothing"),
    ("GET", "/robots.txt"),
    ("HEAD", "/robots.txt"),
    ("POST", "/robots.txt"),
    ("GET", "/.well-known/security.txt"),
    ("GET", "/"),
    ("GET", "/index.html"),
    ("GET", "/does-not-exist"),
    ("GET", "/404.html"),
    ("GET", "/.env"),
    ("GET", "/.env.local"),
    ("GET", "/.ENV"),
    ("GET", "/.git/HEAD"),
    ("GET", "/.GIT/CONFIG"),
    ("GET", "/wp-login.php"),
    ("POST", "/WP-LOGIN.PHP"),
    ("GET", "/wp-admin/"),
    ("GET", "/backup.sql"),
    ("GET", "/lib/config.py"),
    ("GET", "/lib/http/factory.py"),
    ("GET", "/db/env.py"),
    ("GET", "/db/versions/0001_foundation.py"),
    ("GET", "/tests/conftest.py"),
    ("GET", "/scripts/migrate.py"),
    ("GET", "/requirements.txt"),
    ("GET", "/vercel.json"),
    ("GET", "/.python-version"),
    ("GET", "/public/robots.txt"),
]


@pytest.fixture(scope="module")
def project() -> Pair:
    return Pair(ROOT, ensure_build(ROOT))


def test_project_route_table_is_what_vercel_compiles(project: Pair) -> None:
    assert routes_equal(project.local_routes, project.compiled_routes)


def test_project_filesystem_is_what_vercel_outputs(project: Pair) -> None:
    assert project.local_fs.functions == project.compiled_fs.functions
    assert {"api/health", "api/cron/retention", "api/users/[id]"} <= project.compiled_fs.functions
    assert project.local_fs.statics == project.compiled_fs.statics
    assert "robots.txt" in project.compiled_fs.statics


@pytest.mark.parametrize(("method", "path"), PROJECT_REQUESTS)
def test_project_requests_decide_alike(project: Pair, method: str, path: str) -> None:
    project.assert_same(method, path)


def test_project_decisions_are_the_expected_ones(project: Pair) -> None:
    """Parity alone would pass if both sides were equally wrong: pin the important outcomes."""
    expect = {
        "/api/health": ("function", None, "api/health"),
        "/api/health.py": ("function", None, "api/health"),
        "/api/orders": ("function", None, "api/orders/index"),
        "/api/orders/export": ("function", None, "api/orders/export"),  # a file beats the [id] segment
        "/api/orders/42": ("function", None, "api/orders/[id]"),
        "/api/orders/42/timeline": ("function", None, "api/orders/[id]/timeline"),
        "/robots.txt": ("static", None, "robots.txt"),
        # An /api path no function serves: the error phase hands it to a function (health, the
        # lightest), which answers the JSON 404 for any path that is not its own.
        "/api/nothing": ("function", 404, "api/health"),
        "/api/orders/42/other": ("function", 404, "api/health"),
        "/api": ("function", 404, "api/health"),
        # Anything else keeps the platform's own 404.
        "/lib/config.py": ("error", 404, ""),
        "/.ENV": ("deny", 403, ""),
    }
    for path, (kind, status, target) in expect.items():
        decision = project.assert_same("GET", path)
        assert (decision.kind, decision.status, decision.target) == (kind, status, target), path


# --- (b) a synthetic project with the features this one does not use yet -------------------

ECHO = "from starlette.applications import Starlette\n\napp = Starlette()\n"
FIXTURE_VERCEL_JSON: dict[str, Any] = {
    "framework": None,
    "functions": {"api/cron/*.py": {"maxDuration": 60}, "api/**/*.py": {"maxDuration": 10}},
    "crons": [{"path": "/api/cron/job", "schedule": "0 3 * * *"}],
    "routes": [
        {"src": "/(.*)", "headers": {"X-Frame-Options": "DENY", "X-Path": "/$1"}, "continue": True},
        {"src": "/api/(.*)", "headers": {"Cache-Control": "no-store"}, "continue": True},
        {"src": "/old/(?<rest>.*)", "status": 308, "headers": {"Location": "/new/$rest"}},
        {"src": "/status", "dest": "/api/ping?from=status"},
        {"src": "/o/([^/]+)", "dest": "/api/orders/$1", "check": True},
        {"source": "/legacy/(.*)", "destination": "/api/$1?legacy=1"},
        {"src": "/write-only", "methods": ["POST", "PUT"], "dest": "/api/ping"},
        {"src": "/Exact", "caseSensitive": True, "dest": "/hello.txt"},
        {"src": "/gone", "status": 410},
        {"src": "/(\\.env.*|\\.git(/.*)?)", "mitigate": {"action": "deny"}},
        # Phases: merged with the zero-config routes phase by phase (routing-utils mergeRoutes).
        {"handle": "filesystem"},
        {"src": "/api/orders/(special)", "dest": "/api/ping?special=$1"},  # before the [id] route
        {"handle": "miss"},
        {"src": "/api/old-(.*)", "dest": "/api/$1", "check": True},
        {"handle": "hit"},
        {"src": "/hello\\.txt", "headers": {"X-Hit": "1"}, "continue": True},
        {"handle": "error"},
        {"src": "/api(/.*)?", "status": 404, "dest": "/api/ping?missing=1"},
    ],
}
FIXTURE_FILES = {
    "api/orders/[id].py": ECHO,
    "api/orders/index.py": ECHO,
    "api/orders/[id]/items.py": ECHO,
    "api/shops/[shop]/items/[item].py": ECHO,
    "api/v1.0/[slug].py": ECHO,
    "api/index.py": ECHO,
    "api/ping.py": ECHO,
    "api/cron/job.py": ECHO,
    "api/_private.py": ECHO,
    "api/_lib/helper.py": ECHO,
    "lib/__init__.py": "",
    "public/hello.txt": "hello\n",
    "public/docs/index.html": "<p>docs</p>\n",
    "public/404.html": "<p>not here</p>\n",
    "public/.well-known/security.txt": "Contact: mailto:security@example.com\n",
    "requirements.txt": "starlette\n",
    ".python-version": "3.12\n",
    "vercel.json": json.dumps(FIXTURE_VERCEL_JSON, indent=2),
}
FIXTURE_REQUESTS = [
    ("GET", "/api/orders/42"),
    ("GET", "/api/orders/42/"),
    ("GET", "/API/ORDERS/42"),
    ("GET", "/api/orders/42.py"),
    ("GET", "/api/orders"),
    ("GET", "/api/orders/"),
    ("GET", "/api/orders/index"),
    ("GET", "/api/orders/index.py"),
    ("GET", "/api/orders/42/items"),
    ("GET", "/api/orders/42/items/"),
    ("GET", "/api/orders/42/items.py"),
    ("GET", "/api/orders/42/other"),
    ("GET", "/api/shops/s1/items/i9"),
    ("GET", "/api/v1.0/x"),
    ("GET", "/api/v1x0/x"),
    ("GET", "/api"),
    ("GET", "/api/ping"),
    ("GET", "/api/ping.py"),
    ("GET", "/api/cron/job"),
    ("GET", "/api/_private"),
    ("GET", "/api/_private.py"),
    ("GET", "/api/_lib/helper"),
    ("GET", "/api/_lib/helper.py"),
    ("GET", "/api/nothing"),
    ("POST", "/api/nothing/else"),
    ("GET", "/api/orders/special"),
    ("GET", "/api/old-ping"),
    ("GET", "/api/old-nothing"),
    ("GET", "/old/a/b"),
    ("GET", "/OLD/x"),
    ("GET", "/status"),
    ("GET", "/o/7"),
    ("GET", "/legacy/ping"),
    ("GET", "/legacy/orders/3"),
    ("POST", "/write-only"),
    ("PUT", "/write-only"),
    ("GET", "/write-only"),
    ("HEAD", "/write-only"),
    ("GET", "/Exact"),
    ("GET", "/exact"),
    ("GET", "/gone"),
    ("GET", "/.env"),
    ("GET", "/.Env.Production"),
    ("GET", "/.git/config"),
    ("GET", "/hello.txt"),
    ("GET", "/docs"),
    ("GET", "/docs/"),
    ("GET", "/docs/index.html"),
    ("GET", "/nowhere"),
    ("GET", "/.well-known/security.txt"),
    ("GET", "/lib/__init__.py"),
    ("GET", "/vercel.json"),
]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    root = tmp_path_factory.mktemp("vercel-fixture")
    for name, text in FIXTURE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    # The cache is keyed by content, not by this temporary path: an unchanged fixture is not rebuilt.
    return Pair(root, ensure_build(root, cache_dir=ROOT / ".cache" / "vercel-build-fixture", tool_root=ROOT))


def test_fixture_route_table_is_what_vercel_compiles(fixture: Pair) -> None:
    assert routes_equal(fixture.local_routes, fixture.compiled_routes)


def test_fixture_filesystem_is_what_vercel_outputs(fixture: Pair) -> None:
    assert fixture.local_fs.functions == fixture.compiled_fs.functions
    assert "api/orders/[id]/items" in fixture.compiled_fs.functions  # nested [id] directories work
    assert "api/orders/index" in fixture.compiled_fs.functions
    assert not {"api/_private", "api/_lib/helper"} & fixture.compiled_fs.functions
    assert fixture.local_fs.statics == fixture.compiled_fs.statics


@pytest.mark.parametrize(("method", "path"), FIXTURE_REQUESTS)
def test_fixture_requests_decide_alike(fixture: Pair, method: str, path: str) -> None:
    fixture.assert_same(method, path)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/orders/42", ("function", None, "api/orders/[id]", (("id", "42"),))),
        ("GET", "/api/orders", ("function", None, "api/orders/index", ())),
        ("GET", "/api/orders/42/items", ("function", None, "api/orders/[id]/items", (("id", "42"),))),
        (
            "GET",
            "/api/shops/s1/items/i9",
            ("function", None, "api/shops/[shop]/items/[item]", (("shop", "s1"), ("item", "i9"))),
        ),
        ("GET", "/api/v1x0/x", ("function", None, "api/v1.0/[slug]", (("slug", "x"),))),  # Vercel leaves `.` unescaped
        ("GET", "/api", ("function", None, "api/index", ())),
        ("GET", "/api/_private", ("function", 404, "api/ping", (("missing", "1"),))),
        ("POST", "/api/nothing/else", ("function", 404, "api/ping", (("missing", "1"),))),
        ("GET", "/api/orders/special", ("function", None, "api/ping", (("special", "special"),))),
        ("GET", "/api/old-ping", ("function", None, "api/ping", ())),
        ("GET", "/old/a/b", ("redirect", 308, "/new/a/b", ())),
        ("GET", "/status", ("function", None, "api/ping", (("from", "status"),))),
        ("GET", "/o/7", ("function", None, "api/orders/[id]", (("id", "7"),))),
        ("GET", "/legacy/ping", ("function", None, "api/ping", (("legacy", "1"),))),
        ("POST", "/write-only", ("function", None, "api/ping", ())),
        ("GET", "/write-only", ("static", 404, "404.html", ())),  # page 404s get public/404.html
        ("GET", "/Exact", ("static", None, "hello.txt", ())),
        ("GET", "/exact", ("static", 404, "404.html", ())),
        ("GET", "/gone", ("error", 410, "", ())),
        ("GET", "/.Env.Production", ("deny", 403, "", ())),
        ("GET", "/nowhere", ("static", 404, "404.html", ())),
        ("GET", "/docs", ("static", None, "docs/index.html", ())),
    ],
)
def test_fixture_decisions_are_the_expected_ones(
    fixture: Pair, method: str, path: str, expected: tuple[Any, ...]
) -> None:
    decision = fixture.assert_same(method, path)
    assert (decision.kind, decision.status, decision.target, decision.query) == expected


def test_fixture_route_headers_substitute_captures(fixture: Pair) -> None:
    decision = fixture.assert_same("GET", "/api/orders/42")
    assert decision.header("x-path") == "/api/orders/42"
    assert decision.header("cache-control") == "no-store"
    assert fixture.assert_same("GET", "/hello.txt").header("cache-control") is None
    assert fixture.assert_same("GET", "/hello.txt").header("x-hit") == "1"  # a `hit` phase route


def test_fixture_functions_take_the_first_matching_glob(fixture: Pair) -> None:
    output = ROOT / ".cache" / "vercel-build-fixture" / "output"
    cron = json.loads((output / "functions/api/cron/job.func/.vc-config.json").read_text())
    ping = json.loads((output / "functions/api/ping.func/.vc-config.json").read_text())
    assert (cron["maxDuration"], ping["maxDuration"]) == (60, 10)
    assert json.loads((output / "config.json").read_text())["crons"] == FIXTURE_VERCEL_JSON["crons"]
