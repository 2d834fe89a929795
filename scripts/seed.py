"""Demo data for the local runtime: one organization merchants' staff can be added to.

Idempotent: running it again changes nothing. Runs as the schema owner (organizations are
created by operators, not through the API), setting the organization for the insert because
row-level security applies to the owner too.
"""

from __future__ import annotations

import sys
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from lib.config import normalise_database_url

DEMO_ORG_ID = uuid.UUID("00000000-0000-4000-8000-00000000de00")
DEMO_ORG_NAME = "Tienda Demo"
DEMO_ORG_SLUG = "demo"


def seed_demo(migration_url: str) -> uuid.UUID:
    engine = create_engine(normalise_database_url(migration_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(DEMO_ORG_ID)})
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, slug) VALUES (:id, :name, :slug) ON CONFLICT (id) DO NOTHING"
                ),
                {"id": DEMO_ORG_ID, "name": DEMO_ORG_NAME, "slug": DEMO_ORG_SLUG},
            )
    finally:
        engine.dispose()
    return DEMO_ORG_ID


if __name__ == "__main__":
    import os

    url = os.environ.get("DATABASE_MIGRATION_URL")
    if not url:
        print("DATABASE_MIGRATION_URL is not set", file=sys.stderr)
        sys.exit(2)
    print(f"demo organization: {seed_demo(url)}")
