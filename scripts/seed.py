"""Demo data for the local runtime: two organizations, and one user per role in the first.

Idempotent: running it again changes nothing. Runs as the schema owner (organizations are
provisioned by operators, not through the API), setting each organization for its inserts
because row-level security applies to the owner too. Passwords are hashed exactly as the app
hashes them (same pepper and cost, from the environment).
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from lib.auth.passwords import PasswordHasher
from lib.config import normalise_database_url, settings

DEMO_PASSWORD = "Pisco-Sour-en-Lima-2026"  # noqa: S105 - the local demo's, printed at start


@dataclass(frozen=True)
class DemoOrg:
    id: uuid.UUID
    name: str
    slug: str
    users: tuple[tuple[str, str, str], ...]  # (email, full name, role)


DEMO_ORGS = (
    DemoOrg(
        id=uuid.UUID("00000000-0000-4000-8000-00000000de00"),
        name="Tienda Demo",
        slug="demo",
        users=(
            ("admin@tienda-demo.test", "Ana Quispe", "ADMIN"),
            ("supervisor@tienda-demo.test", "Luis Mamani", "SUPERVISOR"),
            ("vendedor@tienda-demo.test", "Rosa Huamán", "SELLER"),
            ("logistica@tienda-demo.test", "Carlos Flores", "LOGISTICS"),
        ),
    ),
    DemoOrg(
        id=uuid.UUID("00000000-0000-4000-8000-00000000de01"),
        name="Bodega Norte",
        slug="bodega-norte",
        users=(("admin@bodega-norte.test", "Jorge Ramos", "ADMIN"),),
    ),
)
DEMO_ORG_ID = DEMO_ORGS[0].id


def _seed_org(conn: Connection, org: DemoOrg, password_hash: str) -> None:
    conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(org.id)})
    conn.execute(
        text("INSERT INTO organizations (id, name, slug) VALUES (:id, :name, :slug) ON CONFLICT (id) DO NOTHING"),
        {"id": org.id, "name": org.name, "slug": org.slug},
    )
    for email, full_name, role in org.users:
        conn.execute(
            text(
                """
                INSERT INTO users (org_id, email, full_name, role, status, password_hash, password_changed_at)
                VALUES (:org, :email, :name, :role, 'active', :hash, now())
                ON CONFLICT (email) DO NOTHING
                """
            ),
            {"org": org.id, "email": email, "name": full_name, "role": role, "hash": password_hash},
        )


def seed_demo(migration_url: str) -> tuple[DemoOrg, ...]:
    config = settings()
    password_hash = PasswordHasher(config.password_pepper.reveal(), config.bcrypt_cost).hash(DEMO_PASSWORD)
    engine = create_engine(normalise_database_url(migration_url), poolclass=NullPool)
    try:
        for org in DEMO_ORGS:
            with engine.begin() as conn:
                _seed_org(conn, org, password_hash)
    finally:
        engine.dispose()
    return DEMO_ORGS


def describe(orgs: tuple[DemoOrg, ...]) -> str:
    lines = [f"Demo accounts (password: {DEMO_PASSWORD}):"]
    for org in orgs:
        for email, _, role in org.users:
            lines.append(f"  {org.name:<13} {role:<11} {email}")
    return "\n".join(lines)


if __name__ == "__main__":
    url = os.environ.get("DATABASE_MIGRATION_URL")
    if not url:
        print("DATABASE_MIGRATION_URL is not set", file=sys.stderr)
        sys.exit(2)
    print(describe(seed_demo(url)))
