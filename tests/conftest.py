"""Shared fixtures: a real Postgres per test session, migrated, and the local Vercel router.

Each pytest process (each xdist worker) starts its own embedded Postgres in a temporary data
directory, creates the same three roles as production (superuser, schema owner, application
login), applies the migrations as the owner and points the app at the application role. Tests
reach the API through the same router the local server uses, in-process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _key_ring_value() -> str:
    from lib.crypto import KeyRing

    return KeyRing.generate_value(1)


warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
logging.getLogger("pgserver").setLevel(logging.WARNING)

# Settings the app reads at import time; the database URL is added once Postgres is up. bcrypt
# runs at cost 4 here for speed (production refuses less than 12; tests/lib/auth checks 12 too).
os.environ["ZENTRO_ENV"] = "test"
os.environ.setdefault("CRON_SECRET", secrets.token_urlsafe(32))
os.environ.setdefault("PASSWORD_PEPPER", secrets.token_urlsafe(32))
os.environ.setdefault("ENCRYPTION_KEYS", _key_ring_value())
os.environ.setdefault("BCRYPT_COST", "4")
os.environ.setdefault("MAIL_DIR", tempfile.mkdtemp(prefix="zentro-mail-"))
os.environ.setdefault("STORAGE_DIR", tempfile.mkdtemp(prefix="zentro-storage-"))
# The courier portal's host the tests connect to (lib/integrations allows no other).
os.environ["ZEUS_PORTAL_HOSTS"] = "zeus.example-courier.pe"
# Until the `database` fixture starts Postgres: lets test modules introspect api/ at collection.
os.environ.setdefault("DATABASE_URL", "postgresql://collecting@/nothing?host=/nonexistent")
for _name in (
    "SENTRY_DSN",
    "ALLOWED_ORIGINS",
    "VERCEL",
    "VERCEL_ENV",
    "RESEND_API_KEY",
    "RESEND_API_URL",
    "BLOB_READ_WRITE_TOKEN",
    "VERCEL_BLOB_API_URL",
    "BROWSERBASE_API_KEY",
    "BROWSERBASE_PROJECT_ID",
    "BROWSERBASE_BASE_URL",
):
    os.environ.pop(_name, None)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg/libpq accepts it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


DEFAULT_PASSWORD = "Quinoa-Ceviche-Arequipa-71"


@dataclasses.dataclass(frozen=True)
class Account:
    """A user created for a test, with the password it signs in with."""

    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    role: str
    password: str = DEFAULT_PASSWORD


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

    def create_user(
        self,
        org_id: uuid.UUID,
        role: str = "SELLER",
        *,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        status: str = "active",
        language: str = "es",
        full_name: str = "Persona de Prueba",
    ) -> Account:
        """A user inserted as the owner, its password hashed as the app hashes it."""
        from lib.auth.passwords import PasswordHasher

        hasher = PasswordHasher(os.environ["PASSWORD_PEPPER"], int(os.environ["BCRYPT_COST"]))
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.pe"
        user_id = uuid.uuid4()
        with self.connect("owner") as conn:
            conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
            conn.execute(
                """INSERT INTO users (id, org_id, email, full_name, role, status, language, password_hash)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    user_id,
                    org_id,
                    email,
                    full_name,
                    role,
                    status,
                    language,
                    None if status == "invited" else hasher.hash(password),
                ),
            )
        return Account(id=user_id, org_id=org_id, email=email, role=role, password=password)

    def create_order(
        self,
        org_id: uuid.UUID,
        seller: Account,
        *,
        status: str = "pending",
        customer_name: str = "Rosa Quispe",
        phone: str = "+51987654321",
        ubigeo: str = "150101",
        channel: str = "whatsapp",
        total_cents: int = 5000,
        rider_id: uuid.UUID | None = None,
        created_at: Any = None,
    ) -> uuid.UUID:
        """An order (one item, its customer) inserted as the owner, bypassing the API: fixtures only."""
        from lib.orders.name_search import name_keys
        from lib.orders.validation import name_words, search_name

        order_id = uuid.uuid4()
        with self.connect("owner") as conn:
            conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
            [number] = conn.execute(
                "UPDATE organizations SET next_order_number = next_order_number + 1 WHERE id = %s "
                "RETURNING next_order_number - 1",
                (org_id,),
            ).fetchone()
            [customer_id] = conn.execute(
                """INSERT INTO customers (org_id, name, phone, document_type, document_number)
                   VALUES (%s, %s, %s, 'DNI', '45678912')
                   ON CONFLICT (org_id, phone) DO UPDATE SET name = excluded.name RETURNING id""",
                (org_id, customer_name, phone),
            ).fetchone()
            [created] = conn.execute(
                """INSERT INTO orders (id, org_id, number, customer_id, customer_name, search_name, customer_phone,
                       document_type, document_number, department, province, district, ubigeo, address_line,
                       channel, seller_id, rider_id, status, subtotal_cents, total_cents, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, 'DNI', '45678912', 'Lima', 'Lima', 'Lima', %s,
                       'Av. Arequipa 123', %s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING created_at""",
                (
                    order_id,
                    org_id,
                    number,
                    customer_id,
                    customer_name,
                    search_name(customer_name),
                    phone,
                    ubigeo,
                    channel,
                    seller.id,
                    rider_id,
                    status,
                    total_cents,
                    total_cents,
                    created_at,
                ),
            ).fetchone()
            words = name_words(customer_name)
            for word in words:
                conn.execute(
                    "INSERT INTO order_name_words (org_id, order_id, word) VALUES (%s, %s, %s)",
                    (org_id, order_id, word),
                )
            conn.cursor().executemany(
                "INSERT INTO order_name_keys (org_id, key, created_at, order_id) VALUES (%s, %s, %s, %s)",
                [(org_id, key, created, order_id) for key in name_keys(words)],
            )
            conn.execute(
                """INSERT INTO order_items (org_id, order_id, position, sku, name, quantity, unit_price_cents,
                       line_total_cents) VALUES (%s, %s, 1, 'POLO-NEGRO-M', 'Polo negro M', 1, %s, %s)""",
                (org_id, order_id, total_cents, total_cents),
            )
            if status != "cancelled":  # what lib/orders/store files for the duplicate check
                conn.execute(
                    "INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id) "
                    "VALUES (%s, %s, 'POLO-NEGRO-M', %s, %s)",
                    (org_id, phone, created, order_id),
                )
        return order_id

    def session_fingerprint(self, token_hash: bytes, now: Any, **claims: Any) -> str:
        """What a bet on the live session behind `token_hash` names (lib/db/session_check's
        FINGERPRINT), rendered by the database as the application renders it. A claim (role="SELLER",
        language="en", ...) makes it a bet that the session holds that value instead of its own."""
        from lib.db.session_check import FINGERPRINT

        fields = {
            "session_id": "uuid",
            "org_id": "uuid",
            "user_id": "uuid",
            "role": "text",
            "language": "text",
            "mfa_enabled": "boolean",
            "org_mfa_required": "boolean",
        }
        if unknown := set(claims) - set(fields):
            raise TypeError(f"not a field of a session: {sorted(unknown)}")
        columns = ", ".join(f"coalesce(%({name})s::{kind}, r.{name}) AS {name}" for name, kind in fields.items())
        with self.connect("superuser") as conn:
            [[fingerprint]] = conn.execute(
                f"SELECT {FINGERPRINT} FROM (SELECT {columns} FROM auth_session_resolve(%(hash)s, %(now)s, 3600) r) s",
                {**dict.fromkeys(fields), **claims, "hash": token_hash, "now": now},
            ).fetchall()
        return str(fingerprint)

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        """Queued (not yet sent) emails for an address, oldest first, opened with the app's key ring.

        Each has `template`, `subject`, `text`, `html`, `job_id`, `status` and, when the text
        carries a one-time link, its `token`."""
        from lib.crypto import KeyRing, SealContext

        ring = KeyRing.parse(os.environ["ENCRYPTION_KEYS"])
        with self.connect("superuser") as conn:
            rows = conn.execute(
                "SELECT id, org_id, payload, status FROM jobs WHERE kind = 'email' AND payload IS NOT NULL "
                "ORDER BY created_at, id"
            ).fetchall()
        found = []
        for job_id, org_id, payload, status in rows:
            opened = json.loads(ring.open(bytes(payload), SealContext(org_id, "jobs", str(job_id), "payload")))
            if opened["to"] == address:
                token = re.search(r"#token=([A-Za-z0-9_-]{43})", opened["text"])
                found.append({**opened, "job_id": job_id, "status": status, "token": token and token.group(1)})
        return found


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


@pytest.fixture
def round_trips(database: Database) -> Iterator[Any]:
    """Points the app's database connections at a proxy that counts round trips (scripts/roundtrips.py)."""
    from lib.config import settings
    from lib.db import dispose_engine
    from scripts.roundtrips import RoundTripProxy

    proxy = RoundTripProxy(target_socket_dir=database.local.socket_dir).start()
    original = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = proxy.database_url("zentro_api", database.local.database)
    settings.cache_clear()
    dispose_engine()
    try:
        yield proxy
    finally:
        os.environ["DATABASE_URL"] = original
        settings.cache_clear()
        dispose_engine()
        proxy.stop()


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


@pytest.fixture
def browser(router: Any) -> Any:
    """A factory of fresh clients, each with its own cookie jar (one per person in a test)."""
    from starlette.testclient import TestClient

    def new() -> TestClient:
        return TestClient(router, base_url="http://localhost:3000")

    return new


def run_reset_requests() -> int:
    """What the outbox cron does first: act on stored password-reset requests (lib/auth/reset_requests)."""
    from datetime import UTC, datetime

    from lib.auth import reset_requests
    from lib.jobs import RunClock

    return reset_requests.drain(RunClock.start(datetime.now(UTC), 50.0))


def sign_in(client: Any, account: Account, **extra: str) -> Any:
    """Log `account` in on `client`; asserts success and returns the response."""
    response = client.post("/api/auth/login", json={"email": account.email, "password": account.password, **extra})
    assert response.status_code == 200, response.text
    return response
