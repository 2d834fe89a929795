"""The async pool: connections reused across requests and event loops, never shared while in use,
never kept dirty, checked after idling, replaced when old, and connecting with retries."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from lib.config import Secret, settings
from lib.db.async_pool import AsyncPool
from lib.db.engine import CONNECT_ATTEMPTS, POOL_POLICY, create_app_engine, create_async_pool
from tests.conftest import Database


def _pool(**policy: Any) -> AsyncPool:
    return create_async_pool(create_app_engine(settings()), settings(), replace(POOL_POLICY, **policy))


async def _backend_pid(pool: AsyncPool) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])


def test_one_connection_serves_request_after_request_and_loop_after_loop(database: Database) -> None:
    pool = _pool()
    first = asyncio.run(_backend_pid(pool))
    assert asyncio.run(_backend_pid(pool)) == first  # another event loop, the same connection
    assert [asyncio.run(_backend_pid(pool)) for _ in range(5)] == [first] * 5
    assert pool.connects == 1
    pool.close()


def test_concurrent_users_never_share_a_connection_and_the_extras_are_not_kept(database: Database) -> None:
    pool = _pool(max_idle=2)
    seen: list[int] = []

    async def hold() -> None:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
            assert row is not None
            seen.append(int(row[0]))
            await asyncio.sleep(0.05)  # all three hold theirs at once

    async def three() -> None:
        await asyncio.gather(hold(), hold(), hold())

    asyncio.run(three())
    assert len(set(seen)) == 3 and pool.connects == 3
    assert pool.idle == 2  # max_idle: the third was closed on its way back
    pool.close()


def test_no_more_than_max_open_are_in_use_at_once_on_a_loop(database: Database) -> None:
    pool = _pool(max_open=1)
    order: list[str] = []

    async def hold(name: str) -> None:
        async with pool.connection():
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    async def both() -> None:
        await asyncio.gather(hold("a"), hold("b"))

    asyncio.run(both())
    assert order == ["a in", "a out", "b in", "b out"]  # b waited for a's connection
    assert pool.connects == 1
    pool.close()


def test_a_connection_returned_inside_a_transaction_is_closed_not_kept(database: Database) -> None:
    pool = _pool()
    kept: list[psycopg.AsyncConnection[Any]] = []

    async def leave_open() -> None:
        async with pool.connection() as conn:
            await conn.execute("BEGIN")
            kept.append(conn)

    asyncio.run(leave_open())
    assert kept[0].closed and pool.idle == 0
    asyncio.run(_backend_pid(pool))  # a clean one for the next user
    assert pool.connects == 2 and pool.idle == 1
    pool.close()


def test_a_connection_dropped_while_idle_is_noticed_and_replaced(database: Database) -> None:
    pool = _pool(idle_ping_seconds=0)
    dropped = asyncio.run(_backend_pid(pool))
    with database.connect("superuser") as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
    replacement = asyncio.run(_backend_pid(pool))  # the ping failed: another connection, no error
    assert replacement != dropped and pool.connects == 2

    unchecked = _pool()  # without the ping, the dead connection reaches its user
    dropped = asyncio.run(_backend_pid(unchecked))
    with database.connect("superuser") as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
    with pytest.raises(psycopg.OperationalError):
        asyncio.run(_backend_pid(unchecked))
    assert unchecked.idle == 0  # and is not given to anyone again
    assert asyncio.run(_backend_pid(unchecked)) != dropped
    pool.close()
    unchecked.close()


def test_a_connection_past_its_recycle_age_is_replaced(database: Database) -> None:
    pool = _pool(recycle_seconds=0)
    first = asyncio.run(_backend_pid(pool))
    time.sleep(0.01)
    assert asyncio.run(_backend_pid(pool)) != first and pool.connects == 2
    kept = _pool()
    assert asyncio.run(_backend_pid(kept)) == asyncio.run(_backend_pid(kept))
    pool.close()
    kept.close()


def test_an_unreachable_database_is_retried_then_reported(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    unreachable = replace(
        settings(), database_url=Secret("postgresql+psycopg://zentro_api@/zentro?host=/nonexistent-socket-dir")
    )
    pool = create_async_pool(create_app_engine(unreachable), unreachable)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="zentro.db"), pytest.raises(psycopg.OperationalError):
        asyncio.run(_backend_pid(pool))
    assert [r.msg for r in caplog.records].count("db_connect_retry") == CONNECT_ATTEMPTS - 1
    assert time.monotonic() - started >= 0.5  # it backed off between attempts
    caplog.clear()
    reachable = _pool()
    with caplog.at_level(logging.WARNING, logger="zentro.db"):
        asyncio.run(_backend_pid(reachable))
    assert "db_connect_retry" not in [r.msg for r in caplog.records]
    reachable.close()


def test_closing_the_pool_closes_its_idle_connections(database: Database) -> None:
    pool = _pool()
    held: list[psycopg.AsyncConnection[Any]] = []

    async def keep() -> None:
        async with pool.connection() as conn:
            held.append(conn)

    asyncio.run(keep())
    assert not held[0].closed and pool.idle == 1
    pool.close()
    assert held[0].closed and pool.idle == 0
    with pytest.raises(RuntimeError):
        asyncio.run(_backend_pid(pool))


def test_connections_carry_the_engines_parameters(database: Database) -> None:
    pool = _pool()

    async def name() -> tuple[str, str]:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT current_setting('application_name'), current_user")).fetchone()
            assert row is not None and conn.autocommit
            return str(row[0]), str(row[1])

    assert asyncio.run(name()) == ("zentro", "zentro_api")
    pool.close()
