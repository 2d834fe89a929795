"""Read-only transactions in one database round trip.

psycopg sends BEGIN, `set_config` and COMMIT as separate round trips in an ordinary
transaction: four network turns for a one-query read. In pipeline mode every statement is sent
without waiting and the whole read costs one turn (scripts/roundtrips.py counts them;
tests/lib/db/test_pipeline.py holds the line). The connection comes from the same pool as every
other transaction.

A pipeline needs no BEGIN and COMMIT: in the extended query protocol, statements sent without a
Sync between them run in one transaction, which the Sync closing the pipeline block commits (or
rolls back, after an error). The first statement sets the organization, the statement timeout
and read-only mode for that transaction (`set_config(..., true)`), so the reads after it run
under them, and nothing outlives the read. Two statements fewer to send, run and take the
results of: about 0.05 ms of a list request. The tests read the settings back from inside a
read and try to write through one.

Statements are SQLAlchemy `text()` clauses, compiled for psycopg here; rows come back as named
tuples. Writes keep using `tenant_transaction`: they need results between statements anyway.

`tenant_read_async` sends the same pipeline from the event loop, on a connection of the async
pool (lib/db/async_pool), for handlers that are coroutines: no hand-off to a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import TextClause, text
from sqlalchemy.types import NullType

from lib.config import settings as load_settings
from lib.db.engine import get_async_pool, get_engine
from lib.db.failures import failure_kind
from lib.db.session_check import CONFIRM, CONFIRM_READ, SessionCheck
from lib.tenancy import TenantContext

_log = logging.getLogger("zentro.db")

Statement = tuple[TextClause, Mapping[str, Any]]

# Everything a read's transaction runs under, set for that transaction only.
_TENANT_CONTEXT = (
    "SELECT set_config('app.org_id', %(org)s, true), set_config('statement_timeout', %(timeout)s, true), "
    "set_config('plan_cache_mode', %(plans)s, true), set_config('transaction_read_only', 'on', true)"
)


@contextmanager
def _autocommit_connection() -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection with autocommit on for the duration: a pipeline's Sync ends its transaction."""
    with get_engine().connect() as sa_conn:
        raw = sa_conn.connection.driver_connection
        if not isinstance(raw, psycopg.Connection):
            raise TypeError("the engine is not psycopg")
        raw.autocommit = True
        try:
            yield raw
        finally:
            if raw.broken or raw.closed:
                sa_conn.invalidate()  # the pool must not hand it out again
            else:
                raw.autocommit = False


@lru_cache(maxsize=512)
def _compiled(sql: str) -> Any:
    """SQLAlchemy's compilation of a statement's text for psycopg, kept: lists repeat a few shapes."""
    return text(sql).compile(dialect=get_engine().dialect)


def _compile(statement: TextClause, params: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if any(not isinstance(bind.type, NullType) for bind in statement._bindparams.values()):
        raise TypeError("pipelined statements are plain text(): typed bind parameters would be lost")
    compiled = _compiled(statement.text)
    return str(compiled), compiled.construct_params(dict(params))


@dataclass(frozen=True, slots=True)
class _Read:
    """What a pipelined read sends: the context statement, then the reads."""

    context: tuple[str, Mapping[str, Any]]
    reads: list[tuple[str, Mapping[str, Any]]]
    check: SessionCheck | None

    def results(self, context_rows: list[Any], read_rows: list[list[Any]]) -> list[list[Any]]:
        if self.check is not None:
            self.check.settle(context_rows)
        return read_rows


def _prepare(ctx: TenantContext, statements: Sequence[Statement], custom_plans: bool) -> _Read:
    if not isinstance(ctx, TenantContext):
        raise TypeError("tenant_read needs a TenantContext")
    plans = "force_custom_plan" if custom_plans else "auto"
    reads = [_compile(statement, params) for statement, params in statements]
    check = ctx.session_check if ctx.session_check is not None and ctx.session_check.pending else None
    if check is not None:
        # The check may touch the session's last_seen_at, then makes the transaction read-only.
        return _Read(_compile(CONFIRM_READ, check.params(_timeout(), plans=plans)), reads, check)
    context = {"org": str(ctx.org_id), "timeout": _timeout(), "plans": plans}
    return _Read((_TENANT_CONTEXT, context), reads, None)


def tenant_read(ctx: TenantContext, *statements: Statement, custom_plans: bool = False) -> list[list[Any]]:
    """Run read-only statements for `ctx`'s organization in one round trip; rows per statement.

    psycopg prepares a statement run often, and Postgres may then reuse one generic plan for
    every value. `custom_plans` asks for a plan per execution instead, for statements whose best
    plan depends on the values (a name search: a rare word and a common one want different plans).

    A context whose session is still a bet (lib/db/session_check) has it checked in the same
    round trip, and the organization comes from that check; a lost bet raises SessionChanged.
    """
    read = _prepare(ctx, statements, custom_plans)
    return _once_more_on_a_dead_connection(lambda: _send(read))


def _send(read: _Read) -> list[list[Any]]:
    with _autocommit_connection() as raw:
        cursors = []
        try:
            with raw.pipeline():
                context = raw.execute(*read.context)
                for sql, params in read.reads:
                    cursor = raw.cursor(row_factory=namedtuple_row)
                    cursor.execute(sql, params)
                    cursors.append(cursor)
        except BaseException:
            _rollback(raw)
            raise
        rows = [cursor.fetchall() if _has_rows(cursor) else [] for cursor in cursors]
        return read.results(context.fetchall(), rows)


def _once_more_on_a_dead_connection[T](read: Callable[[], T]) -> T:
    """Run a read; if its pooled connection had died (a database restart), run it once more on a
    fresh one. Reads write nothing (a session's last_seen_at aside, which is idempotent), so
    repeating one is safe."""
    try:
        return read()
    except psycopg.OperationalError as error:
        if failure_kind(error) != "unavailable":
            raise
        _log.warning("db_stale_connection_replaced")
        # The idle connections pooled with it are as dead (what SQLAlchemy does on a disconnect it sees).
        get_engine().dispose()
        return read()


async def tenant_read_async(ctx: TenantContext, *statements: Statement, custom_plans: bool = False) -> list[list[Any]]:
    """`tenant_read` on the event loop: the same statements, on a connection of the async pool."""
    read = _prepare(ctx, statements, custom_plans)
    try:
        return await _send_async(read)
    except psycopg.OperationalError as error:
        if failure_kind(error) != "unavailable":
            raise
        _log.warning("db_stale_connection_replaced")
        get_async_pool().discard_idle()  # pooled before the failure: as dead as the one that failed
        return await _send_async(read)


async def _send_async(read: _Read) -> list[list[Any]]:
    async with get_async_pool().connection() as raw:
        cursors = []
        try:
            async with raw.pipeline():
                context = await raw.execute(*read.context)
                for sql, params in read.reads:
                    cursor = raw.cursor(row_factory=namedtuple_row)
                    await cursor.execute(sql, params)
                    cursors.append(cursor)
        except Exception:
            if raw.info.transaction_status != TransactionStatus.IDLE:
                with suppress(psycopg.Error):
                    await raw.execute("ROLLBACK")
            raise
        # A cancelled read needs nothing here: psycopg cancels the query on the server and drains the
        # pipeline, and the pool closes a connection that still comes back mid-transaction.
        rows = [await cursor.fetchall() if _has_rows(cursor) else [] for cursor in cursors]
        return read.results(await context.fetchall(), rows)


def confirm_session(check: SessionCheck | None) -> None:
    """Settle a bet no database access of the request has settled yet (one round trip)."""
    if check is None or check.confirmed:
        return
    check.settle(unscoped_once(CONFIRM, check.params(_timeout())))


def unscoped_once(statement: TextClause, params: Mapping[str, Any]) -> list[Any]:
    """One statement outside any organization, in its own transaction, in one round trip.

    Not read-only: resolving a session refreshes its last_seen_at.
    """
    sql, compiled_params = _compile(statement, params)

    def read() -> list[Any]:
        with _autocommit_connection() as raw:
            try:
                with raw.pipeline():
                    raw.execute("SELECT set_config('statement_timeout', %(timeout)s, true)", {"timeout": _timeout()})
                    cursor = raw.cursor(row_factory=namedtuple_row)
                    cursor.execute(sql, compiled_params)
            except BaseException:
                _rollback(raw)
                raise
            return cursor.fetchall() if _has_rows(cursor) else []

    return _once_more_on_a_dead_connection(read)


def _has_rows(cursor: psycopg.Cursor[Any] | psycopg.AsyncCursor[Any]) -> bool:
    """Whether the statement returned rows (zero or more), not a command status: what
    `cursor.description` tells, without building a Column per column on every read."""
    result = cursor.pgresult
    return result is not None and result.status == ExecStatus.TUPLES_OK


def _rollback(raw: psycopg.Connection[Any]) -> None:
    """End whatever the failed pipeline left open (its Sync normally has); a broken connection is
    the pool's to discard."""
    if raw.info.transaction_status != TransactionStatus.IDLE:
        with suppress(psycopg.Error):
            raw.execute("ROLLBACK")


def _timeout() -> str:
    return str(load_settings().database_statement_timeout_ms)
