"""A real Postgres for local runs and tests, from the `pgserver` package (no install needed).

`start()` gives a server on a unix socket with three roles, mirroring production:

- `postgres`, the superuser: creates the roles and the database, never used by the app;
- `zentro_owner`, owns the schema and runs migrations (Neon's owner role, DATABASE_MIGRATION_URL);
- `zentro_api`, the application's login role (DATABASE_URL), made a member of `zentro_app` by
  the migration script.

The data directory survives restarts; with `cleanup_mode="stop"` the server stops when the
process that started it exits.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pgserver
import psycopg
from psycopg import sql

OWNER_ROLE = "zentro_owner"
APP_LOGIN_ROLE = "zentro_api"


@dataclass(frozen=True, slots=True)
class LocalPostgres:
    socket_dir: str
    database: str
    server: object

    def url(self, user: str, database: str | None = None) -> str:
        return f"postgresql+psycopg://{user}@/{database or self.database}?host={quote(self.socket_dir)}"

    @property
    def superuser_url(self) -> str:
        return self.url("postgres")

    @property
    def migration_url(self) -> str:
        return self.url(OWNER_ROLE)

    @property
    def app_url(self) -> str:
        return self.url(APP_LOGIN_ROLE)


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that no longer exist from pgserver's list of handles on this data dir.

    pgserver stops the server when the last process holding it exits, counting holders in
    `.handle_pids.json`; a holder killed without running its exit hooks stays listed forever and
    the server would never be stopped again.
    """
    handles = data_dir / ".handle_pids.json"
    if not handles.is_file():
        return
    alive = []
    for pid in json.loads(handles.read_text()):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.append(pid)
    handles.write_text(json.dumps(alive))


def start(data_dir: Path, database: str, *, cleanup_mode: Literal["stop", "delete"] | None = "stop") -> LocalPostgres:
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        for role, attributes in (
            (OWNER_ROLE, "LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS"),
            (APP_LOGIN_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} " + attributes).format(sql.Identifier(role)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(OWNER_ROLE))
            )
    return LocalPostgres(socket_dir=socket_dir, database=database, server=server)
