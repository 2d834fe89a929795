"""The process's engine, shaped for Neon's pooled (PgBouncer transaction-mode) endpoint.

- No session state: everything a transaction needs (organization, statement timeout) is set
  with `set_config(..., true)` inside it, so any server connection PgBouncer hands us works.
- A tiny pool, reused across invocations of a warm instance; no pre-ping round trip on every
  checkout, only on a connection that sat idle long enough for the pooler to have dropped it.
- Connecting retries with backoff: a scaled-to-zero Neon compute takes a moment to wake.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool

from lib.config import Settings
from lib.config import settings as load_settings

_log = logging.getLogger("zentro.db")

CONNECT_ATTEMPTS = 3
_BACKOFF_SECONDS = (0.1, 0.4)
# A pooled connection idle longer than this is checked before use.
_IDLE_PING_SECONDS = 60.0

_engine: Engine | None = None


def get_engine(settings: Settings | None = None) -> Engine:
    global _engine
    if _engine is None:
        _engine = create_app_engine(settings or load_settings())
    return _engine


def dispose_engine() -> None:
    """Close pooled connections and forget the engine (tests, configuration changes)."""
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = None


def create_app_engine(settings: Settings) -> Engine:
    engine = create_engine(
        settings.database_url.reveal(),
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=3,
        pool_recycle=240,
        # Error messages must not carry bound values (emails, hashes) into logs or Sentry.
        hide_parameters=True,
        connect_args={
            "connect_timeout": max(2, int(settings.database_connect_timeout)),
            "application_name": "zentro",
        },
    )
    event.listen(engine, "do_connect", _connect_with_retry)
    event.listen(engine.pool, "checkin", _mark_idle)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    return engine


def _connect_with_retry(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            return dialect.connect(*cargs, **cparams)
        except psycopg.OperationalError:
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            _log.warning("db_connect_retry", extra={"attempt": attempt + 1})
            time.sleep(_BACKOFF_SECONDS[attempt])
    raise RuntimeError("unreachable")


def _mark_idle(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < _IDLE_PING_SECONDS:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except psycopg.Error:
        # The pool discards this connection and checks out (or opens) another one.
        raise exc.DisconnectionError("pooled connection went away while idle") from None
