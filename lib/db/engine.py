"""The process's engine, shaped for Neon's pooled (PgBouncer transaction-mode) endpoint.

- No session state: everything a transaction needs (organization, statement timeout) is set
  with `set_config(..., true)` inside it, so any server connection PgBouncer hands us works.
- A tiny pool, reused across invocations of a warm instance; no pre-ping round trip on every
  checkout, only on a connection that sat idle long enough for the pooler to have dropped it.
- Connecting retries with backoff: a scaled-to-zero Neon compute takes a moment to wake.

Reads served on the event loop take psycopg AsyncConnections from `get_async_pool()`, made with
the same parameters and type adapters and kept under the same policies (lib/db/async_pool).
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
from lib.db.async_pool import AsyncPool, PoolPolicy

_log = logging.getLogger("zentro.db")

# Both pools keep to it: the engine's QueuePool (pool_size = max_idle, overflow up to max_open)
# and the async pool.
POOL_POLICY = PoolPolicy(
    max_idle=2,
    max_open=5,
    recycle_seconds=240,
    idle_ping_seconds=60.0,  # a connection idle longer than this is checked before use
    connect_backoff_seconds=(0.1, 0.4),
)
CONNECT_ATTEMPTS = len(POOL_POLICY.connect_backoff_seconds) + 1

_engine: Engine | None = None
_async_pool: AsyncPool | None = None


def get_engine(settings: Settings | None = None) -> Engine:
    global _engine
    if _engine is None:
        _engine = create_app_engine(settings or load_settings())
    return _engine


def get_async_pool() -> AsyncPool:
    """The process's pool of AsyncConnections (lib/db/async_pool), beside the engine's."""
    global _async_pool
    if _async_pool is None:
        _async_pool = create_async_pool(get_engine(), load_settings())
    return _async_pool


def dispose_engine() -> None:
    """Close pooled connections and forget the engine (tests, configuration changes)."""
    global _engine, _async_pool
    if _async_pool is not None:
        _async_pool.close()
    if _engine is not None:
        _engine.dispose()
    _engine = _async_pool = None


def create_app_engine(settings: Settings) -> Engine:
    engine = create_engine(
        settings.database_url.reveal(),
        poolclass=QueuePool,
        pool_size=POOL_POLICY.max_idle,
        max_overflow=POOL_POLICY.max_open - POOL_POLICY.max_idle,
        pool_recycle=POOL_POLICY.recycle_seconds,
        # Error messages must not carry bound values (emails, hashes) into logs or Sentry.
        hide_parameters=True,
        connect_args=_connect_args(settings),
    )
    event.listen(engine, "do_connect", _connect_with_retry)
    event.listen(engine.pool, "checkin", _mark_idle)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    return engine


def create_async_pool(engine: Engine, settings: Settings, policy: PoolPolicy | None = None) -> AsyncPool:
    """AsyncConnections with `engine`'s connection parameters and type adapters (its dialect
    derives both from the URL), under the engine pool's policies unless `policy` says otherwise."""
    _, params = engine.dialect.create_connect_args(engine.url)
    return AsyncPool({**params, **_connect_args(settings)}, policy or POOL_POLICY)


def _connect_args(settings: Settings) -> dict[str, Any]:
    return {"connect_timeout": max(2, int(settings.database_connect_timeout)), "application_name": "zentro"}


def _connect_with_retry(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            return dialect.connect(*cargs, **cparams)
        except psycopg.OperationalError:
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            _log.warning("db_connect_retry", extra={"attempt": attempt + 1})
            time.sleep(POOL_POLICY.connect_backoff_seconds[attempt])
    raise RuntimeError("unreachable")


def _mark_idle(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < POOL_POLICY.idle_ping_seconds:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except psycopg.Error:
        # The pool discards this connection and checks out (or opens) another one.
        raise exc.DisconnectionError("pooled connection went away while idle") from None
