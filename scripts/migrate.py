"""Apply database migrations, then check the application's role is safe to use.

    python -m scripts.migrate            # upgrade to the newest revision
    python -m scripts.migrate --check    # exit 1 if a migration is pending

Runs as the schema owner (DATABASE_MIGRATION_URL, Neon's direct, non-pooled host). When
DATABASE_URL is set too, the application's login role is made a member of `zentro_app` and then
checked: it must not be the owner, a superuser, or able to bypass row-level security.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from lib.config import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
APP_GROUP_ROLE = "zentro_app"


class UnsafeAppRole(RuntimeError):
    """The application's database role could bypass tenant isolation."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "db"))
    return config


def owner_engine(migration_url: str) -> Engine:
    return create_engine(normalise_database_url(migration_url), poolclass=NullPool)


def upgrade(migration_url: str, app_url: str | None = None) -> None:
    engine = owner_engine(migration_url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        if app_url:
            grant_app_role(engine, app_url)
            verify_app_role(app_url)
    finally:
        engine.dispose()


def pending(migration_url: str) -> bool:
    engine = owner_engine(migration_url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        return current != set(ScriptDirectory.from_config(alembic_config()).get_heads())
    finally:
        engine.dispose()


def grant_app_role(engine: Engine, app_url: str) -> None:
    app_user = make_url(normalise_database_url(app_url)).username
    if not app_user:
        raise UnsafeAppRole("DATABASE_URL names no user")
    with engine.begin() as conn:
        owner = conn.execute(text("SELECT current_user")).scalar_one()
        if app_user == owner:
            raise UnsafeAppRole("DATABASE_URL must not use the migration (owner) role")
        is_member = conn.execute(
            text("SELECT pg_has_role(:user, :group, 'MEMBER')"), {"user": app_user, "group": APP_GROUP_ROLE}
        ).scalar_one()
        if not is_member:
            quote = conn.dialect.identifier_preparer.quote
            conn.execute(text(f"GRANT {quote(APP_GROUP_ROLE)} TO {quote(app_user)}"))


def verify_app_role(app_url: str) -> None:
    """Refuse an application role that could read across tenants."""
    engine = create_engine(normalise_database_url(app_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    """
                    SELECT r.rolsuper, r.rolbypassrls,
                           EXISTS (SELECT 1 FROM pg_tables t
                                   WHERE t.schemaname = 'public' AND t.tableowner = current_user) AS owns_tables
                    FROM pg_roles r WHERE r.rolname = current_user
                    """
                )
            ).one()
    finally:
        engine.dispose()
    if row.rolsuper or row.rolbypassrls or row.owns_tables:
        raise UnsafeAppRole(
            "the DATABASE_URL role must not be a superuser, bypass RLS or own tables "
            f"(superuser={row.rolsuper}, bypassrls={row.rolbypassrls}, owns_tables={row.owns_tables})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when a migration is pending")
    args = parser.parse_args(argv)
    migration_url = os.environ.get("DATABASE_MIGRATION_URL")
    if not migration_url:
        print("DATABASE_MIGRATION_URL is not set (the owner role's direct connection URL)", file=sys.stderr)
        return 2
    if args.check:
        return 1 if pending(migration_url) else 0
    try:
        upgrade(migration_url, os.environ.get("DATABASE_URL"))
    except UnsafeAppRole as exc:
        print(f"refusing: {exc}", file=sys.stderr)
        return 1
    print("migrations applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
