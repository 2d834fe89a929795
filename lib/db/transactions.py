"""Transactions, scoped to a tenant or explicitly not.

`tenant_transaction(ctx)` is how tenant data is touched: it opens one transaction and sets
`app.org_id` for it (transaction-local, so it cannot leak to the next user of a pooled
connection). Postgres row-level security reads that setting: rows of other organizations are
invisible and cannot be written, whatever SQL runs inside. Queries still filter by
`org_id = :org` themselves (it is what makes the indexes work); RLS is the second lock.

A context whose session is still a bet (lib/db/session_check) has it checked as the
transaction's first statement instead; a lost bet raises SessionChanged before anything runs.

`unscoped_transaction()` sets no organization, so every tenant table reads empty and rejects
writes. It is for work that is about no tenant: health checks, cron bookkeeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from lib.config import settings as load_settings
from lib.db.engine import get_engine
from lib.db.failures import note_commit
from lib.db.session_check import CONFIRM
from lib.tenancy import TenantContext

_log = logging.getLogger("zentro.db")

_SET_TENANT = text("SELECT set_config('app.org_id', :org, true), set_config('statement_timeout', :timeout, true)")
_SET_TIMEOUT = text("SELECT set_config('statement_timeout', :timeout, true)")
_LOCK_KEY = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass(frozen=True, slots=True)
class TenantTx:
    """An open transaction acting for one organization."""

    conn: Connection
    ctx: TenantContext

    def lock_key(self, name: str) -> None:
        """Serialise every transaction that locks `name` in this organization until this one ends
        (a transaction-level advisory lock: safe behind PgBouncer's transaction pooling)."""
        self.conn.execute(_LOCK_KEY, {"key": f"{self.ctx.org_id}:{name}"})


@contextmanager
def tenant_transaction(ctx: TenantContext) -> Iterator[TenantTx]:
    if not isinstance(ctx, TenantContext):
        raise TypeError("tenant_transaction needs a TenantContext")
    check = ctx.session_check

    def first(conn: Connection) -> None:
        if check is not None and check.pending:
            # A session still on trust (lib/db/session_check) is checked first, and sets the organization.
            check.settle(list(conn.execute(CONFIRM, check.params(_timeout()))))
        else:
            conn.execute(_SET_TENANT, {"org": str(ctx.org_id), "timeout": _timeout()})

    with _transaction(first) as conn:
        yield TenantTx(conn=conn, ctx=ctx)


@contextmanager
def unscoped_transaction() -> Iterator[Connection]:
    with _transaction(lambda conn: conn.execute(_SET_TIMEOUT, {"timeout": _timeout()})) as conn:
        yield conn


@contextmanager
def _transaction(first: Callable[[Connection], object]) -> Iterator[Connection]:
    """A transaction whose first statement is `first`, committed when the block ends without error.

    A pooled connection the database dropped while it sat idle (a restart, pg_terminate_backend)
    fails on that first statement, before anything was written: it is discarded (with every
    connection pooled before it, by SQLAlchemy's disconnect handling) and the transaction starts
    again, once, on a fresh connection, so the request does not fail on a stale pool."""
    engine = get_engine()
    for attempt in (1, 2):
        conn = engine.connect()
        transaction = conn.begin()
        try:
            first(conn)
        except DBAPIError as error:
            conn.close()
            if attempt == 1 and error.connection_invalidated:
                _log.warning("db_stale_connection_replaced")
                continue
            raise
        except BaseException:
            conn.close()
            raise
        break
    try:
        yield conn
    except BaseException:
        if transaction.is_active:
            with suppress(DBAPIError):  # a dead connection cannot roll back; the error that killed it says more
                transaction.rollback()
        raise
    else:
        transaction.commit()
        note_commit()
    finally:
        conn.close()


def database_reachable() -> bool:
    """Whether a trivial query succeeds. Never raises."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except (DBAPIError, OSError):
        return False


def _timeout() -> str:
    return str(load_settings().database_statement_timeout_ms)
