"""Alembic environment: migrations run on the connection scripts/migrate.py hands over.

Migrations are plain SQL (op.execute): the schema's security lives in SQL features (row-level
security, grants, SECURITY DEFINER functions) that an ORM model would hide, not express.
They run as the schema owner (DATABASE_MIGRATION_URL), never as the application's role.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `python -m scripts.migrate`, which supplies the connection")

context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
