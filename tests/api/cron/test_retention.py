"""GET /api/cron/retention answers only Vercel Cron's bearer secret, then purges and records."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from lib.config import settings

PATH = "/api/cron/retention"
FILE = Path(__file__).resolve().parents[3] / "api" / "cron" / "retention.py"


def fresh_import() -> ModuleType:
    """api/cron/retention.py imported anew, so its app is built from the current environment."""
    spec = importlib.util.spec_from_file_location("retention_under_test", FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cron_secret_unset(database: Any) -> Iterator[None]:
    saved = os.environ.pop("CRON_SECRET")
    settings.cache_clear()
    yield
    os.environ["CRON_SECRET"] = saved
    settings.cache_clear()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong-secret"),
        bearer(""),
        {"Authorization": "Basic " + os.environ["CRON_SECRET"]},
        {"Authorization": os.environ["CRON_SECRET"]},
        bearer(os.environ["CRON_SECRET"][:-1]),
        bearer(os.environ["CRON_SECRET"] + "x"),
    ],
)
def test_requests_without_the_secret_are_401(client: Any, headers: dict[str, str]) -> None:
    response = client.get(PATH, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_vercel_cron_with_the_secret_purges_and_the_runs_are_recorded(client: Any, database: Any) -> None:
    response = client.get(PATH, headers={**bearer(os.environ["CRON_SECRET"]), "User-Agent": "vercel-cron/1.0"})
    assert response.status_code == 200
    body = response.json()
    assert body["retention_days"] == 90
    with database.connect("superuser") as conn:
        runs = dict(
            conn.execute(
                "SELECT job, rows_affected FROM maintenance_runs WHERE id IN (%s, %s)",
                (body["audit_run_id"], body["auth_run_id"]),
            ).fetchall()
        )
    assert runs == {"audit_purge": body["audit_removed"], "auth_purge": body["auth_removed"]}


def test_with_no_cron_secret_configured_every_request_is_401(cron_secret_unset: None) -> None:
    client = TestClient(fresh_import().app, base_url="http://localhost:3000")
    for headers in ({}, bearer(""), bearer("None"), bearer("null")):
        assert client.get(PATH, headers=headers).status_code == 401


def test_the_same_file_with_the_secret_configured_accepts_it(database: Any) -> None:
    client = TestClient(fresh_import().app, base_url="http://localhost:3000")
    assert client.get(PATH, headers=bearer(os.environ["CRON_SECRET"])).status_code == 200


def test_cron_does_not_accept_other_methods(client: Any) -> None:
    assert client.post(PATH, headers=bearer(os.environ["CRON_SECRET"])).status_code == 405
