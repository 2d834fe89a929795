"""GET /api/health: 200 with the database up, 503 without it, and nothing revealing either way."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from lib.config import settings
from lib.db import dispose_engine
from lib.http.security_headers import SECURITY_HEADERS


@pytest.fixture
def database_down(database: Any) -> Iterator[None]:
    """Point the app at a Postgres that does not exist, then restore the real one."""
    real = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = "postgresql+psycopg://zentro_api@/zentro?host=/nonexistent-socket-dir"
    settings.cache_clear()
    dispose_engine()
    yield
    os.environ["DATABASE_URL"] = real
    settings.cache_clear()
    dispose_engine()


def test_healthy_when_the_database_answers(client: Any) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_unavailable_when_the_database_does_not_answer(client: Any, database_down: None) -> None:
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "5"
    assert "nonexistent" not in response.text  # no connection details leak
    assert response.headers["strict-transport-security"] == SECURITY_HEADERS["Strict-Transport-Security"]


def test_health_reveals_no_versions(client: Any) -> None:
    response = client.get("/api/health")
    revealing = [f"{k}: {v}" for k, v in response.headers.items() if k.lower() in ("server", "x-powered-by")]
    assert not revealing
    assert not re.search(r"\d+\.\d+\.\d+", response.text)
