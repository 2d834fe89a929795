"""Pooled psycopg AsyncConnections, for reads served on the event loop (lib/db/pipeline).

A list page reads in one database round trip. Handing that read to a worker thread and back
cost about 0.15 ms of a request of under 1 ms (scripts/bench_orders), so reads that are the
whole of a request run on the event loop instead, with connections from this pool.

Its connections have the engine's parameters and type adapters (lib/db/engine passes them) and
its policies: connecting retries with backoff, a connection idle long enough for the pooler to
have dropped it is checked before use, one older than the recycle age is replaced, and only a
connection returned clean (no transaction open) is kept. At most `max_open` connections are in
use per event loop; a request beyond that waits for one to come back.

Not psycopg_pool's AsyncConnectionPool: it belongs to the event loop it was opened on and keeps
background tasks running. A Vercel instance is frozen between invocations, and Starlette's
TestClient runs each request on a loop of its own. This pool runs no tasks and holds no lock
across an await (a thread lock guards the idle list only): an idle connection belongs to no
loop, and whichever request takes it is its only user until it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg.pq import TransactionStatus

_log = logging.getLogger("zentro.db")


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    max_idle: int
    max_open: int
    recycle_seconds: int
    idle_ping_seconds: float
    connect_backoff_seconds: Sequence[float]  # a wait before each retry: len + 1 attempts in all


@dataclass(slots=True)
class _Pooled:
    conn: psycopg.AsyncConnection[Any]
    born: float
    idle_since: float


class AsyncPool:
    def __init__(self, connect_kwargs: Mapping[str, Any], policy: PoolPolicy) -> None:
        self._kwargs = dict(connect_kwargs)
        self._policy = policy
        self._idle: list[_Pooled] = []
        self._lock = threading.Lock()
        self._slots: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()
        self._closed = False
        self.connects = 0  # connections opened so far (tests and the benchmark read it)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection in autocommit mode, for this task only until the block ends."""
        async with self._slot():
            pooled = await self._checkout()
            try:
                yield pooled.conn
            finally:
                self._checkin(pooled)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for pooled in idle:
            _discard(pooled.conn)

    def discard_idle(self) -> None:
        """Close the idle connections (the database went away: they are dead too); the pool stays open."""
        with self._lock:
            idle, self._idle = self._idle, []
        for pooled in idle:
            _discard(pooled.conn)

    @property
    def idle(self) -> int:
        return len(self._idle)

    def _slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            slots = self._slots.get(loop)
            if slots is None:
                slots = self._slots[loop] = asyncio.Semaphore(self._policy.max_open)
            return slots

    async def _checkout(self) -> _Pooled:
        while True:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the pool is closed")
                pooled = self._idle.pop() if self._idle else None
            if pooled is None:
                return await self._connect()
            now = time.monotonic()
            if now - pooled.born > self._policy.recycle_seconds:
                _discard(pooled.conn)
                continue
            if now - pooled.idle_since > self._policy.idle_ping_seconds:
                try:
                    await pooled.conn.execute("SELECT 1")
                except psycopg.Error:
                    _discard(pooled.conn)  # the pooler dropped it while idle: take another
                    continue
            return pooled

    async def _connect(self) -> _Pooled:
        backoff = self._policy.connect_backoff_seconds
        for attempt in range(len(backoff) + 1):
            try:
                conn = await psycopg.AsyncConnection.connect(autocommit=True, **self._kwargs)
            except psycopg.OperationalError:
                if attempt == len(backoff):
                    raise
                _log.warning("db_connect_retry", extra={"attempt": attempt + 1})
                await asyncio.sleep(backoff[attempt])
                continue
            self.connects += 1
            now = time.monotonic()
            return _Pooled(conn, born=now, idle_since=now)
        raise RuntimeError("unreachable")

    def _checkin(self, pooled: _Pooled) -> None:
        conn = pooled.conn
        if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            pooled.idle_since = time.monotonic()
            with self._lock:
                if not self._closed and len(self._idle) < self._policy.max_idle:
                    self._idle.append(pooled)
                    return
        _discard(conn)  # closed, mid-transaction (a cancelled or failed read), or one too many


def _discard(conn: psycopg.AsyncConnection[Any]) -> None:
    # What AsyncConnection.close() does, without needing an event loop (close() never awaits).
    conn.pgconn.finish()
