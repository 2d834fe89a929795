"""Shared fixtures: a real Postgres per test session, migrated, and the local Vercel router.

Each pytest process (each xdist worker) starts its own embedded Postgres in a temporary data
directory, creates the same three roles as production (superuser, schema owner, application
login), applies the migrations as the owner and points the app at the application role. Tests
reach the API through the same router the local server uses, in-process.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
logging.getLogger("pgserver").setLevel(logging.WARNING)

# Settings the app reads at import time; the database URL is added once Postgres is up.
os.environ["ZENTRO_ENV"] = "test"
os.environ.setdefault("CRON_SECRET", secrets.token_urlsafe(32))
for _name in ("SENTRY_DSN", "ALLOWED_ORIGINS", "VERCEL", "VERCEL_ENV"):
    os.environ.pop(_name, None)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg/libpq accepts it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class Database:
    """The session's Postgres, with connections as each of the three roles."""

    def __init__(self, local: Any) -> None:
        self.local = local
        self.app_url: str = local.app_url
        self.migration_url: str = local.migration_url
        self.superuser_url: str = local.superuser_url

    def connect(self, role: str = "app", **kwargs: Any) -> psycopg.Connection[Any]:
        url = {"app": self.app_url, "owner": self.migration_url, "superuser": self.superuser_url}[role]
        return psycopg.connect(libpq(url), **kwargs)

    def create_org(self, name: str | None = None) -> uuid.UUID:
        """A new organization, inserted as the owner (RLS applies to the owner too)."""
        org_id = uuid.uuid4()
        with self.connect("owner") as conn:
            conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
            conn.execute(
                "INSERT INTO organizations (id, name, slug) VALUES (%s, %s, %s)",
                (org_id, name or f"Org {org_id.hex[:6]}", f"org-{org_id.hex[:12]}"),
            )
        return org_id


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from lib.config import settings
    from lib.db import dispose_engine
    from scripts import local_postgres, migrate

    local = local_postgres.start(tmp_path_factory.mktemp("pg") / "data", "zentro_test", cleanup_mode="delete")
    os.environ["DATABASE_URL"] = local.app_url
    os.environ["DATABASE_MIGRATION_URL"] = local.migration_url
    migrate.upgrade(local.migration_url, local.app_url)
    settings.cache_clear()
    dispose_engine()
    yield Database(local)
    dispose_engine()
    local.server.cleanup()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def router(database: Database) -> Any:
    """The local Vercel router over this checkout, as an ASGI app."""
    from scripts.localvercel.asgi import create_app

    return create_app(ROOT)


@pytest.fixture(scope="session")
def client(router: Any) -> Iterator[Any]:
    from starlette.testclient import TestClient

    with TestClient(router, base_url="http://localhost:3000") as test_client:
        yield test_client
