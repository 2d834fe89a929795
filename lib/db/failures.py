"""What a database failure means for the request, and retrying what can safely be retried.

Three kinds of failure are not bugs in the request's code:

- `unavailable`: the database cannot be reached or dropped the connection (refused, reset,
  terminated, shutting down, still starting, no connection free in the pool). The request is
  answered 503 with Retry-After, counted in the log, not reported to Sentry as a bug;
- `conflict`: Postgres rolled the transaction back to break a deadlock (40P01) or a
  serialization failure (40001). The whole transaction is gone, so doing the work again is safe;
- anything else is a bug (500, reported).

`retrying_conflicts(work)` runs a unit of work (a request handler: lib/http/factory) and runs it
again, up to CONFLICT_ATTEMPTS times, when it failed on a conflict and none of its transactions
had committed a write yet (each write transaction reports its commit here): what committed
before the conflict stays, so it is never repeated. Row locks are taken FOR NO KEY UPDATE
throughout (tests/lib/db/test_lock_discipline.py), so foreign-key checks never wait on them;
this retry is the net under that discipline, not the discipline itself.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

import psycopg
from sqlalchemy import exc as sa_exc

_log = logging.getLogger("zentro.db")

CONFLICT_ATTEMPTS = 3
_CONFLICTS = frozenset({"40P01", "40001"})
# admin_shutdown (pg_terminate_backend, a restart), crash_shutdown, cannot_connect_now (starting up).
_GONE = frozenset({"57P01", "57P02", "57P03"})

Kind = Literal["unavailable", "conflict"]


def failure_kind(error: BaseException) -> Kind | None:
    """`unavailable`, `conflict`, or None (not a database failure of either kind: a bug)."""
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return "unavailable"
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return "unavailable"
        error = error.orig if isinstance(error.orig, BaseException) else error
    if not isinstance(error, psycopg.Error):
        return None
    state = error.sqlstate
    if state in _CONFLICTS:
        return "conflict"
    if state in _GONE or (state or "")[:2] in ("08", "53"):  # connection exceptions, insufficient resources
        return "unavailable"
    if state is None and isinstance(error, psycopg.OperationalError):
        return "unavailable"  # no answer from a server at all: refused, reset, closed
    return None


@dataclass(slots=True)
class _Unit:
    writes_committed: int = 0


_unit: ContextVar[_Unit | None] = ContextVar("zentro_db_unit", default=None)


def note_commit() -> None:
    """A write transaction of the current unit of work committed: it cannot be run again."""
    unit = _unit.get()
    if unit is not None:
        unit.writes_committed += 1


def retrying_conflicts[T](work: Callable[[], T]) -> T:
    """Run `work`; run it again after a conflict, while nothing it wrote has committed."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        unit = _Unit()
        token = _unit.set(unit)
        try:
            return work()
        except Exception as error:
            if failure_kind(error) != "conflict" or unit.writes_committed or attempt == CONFLICT_ATTEMPTS:
                raise
            _log.warning("db_conflict_retried", extra={"attempt": attempt, "sqlstate": _sqlstate(error)})
        finally:
            _unit.reset(token)
        time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not a secret
    raise RuntimeError("unreachable")


def _sqlstate(error: BaseException) -> str | None:
    orig = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    return orig.sqlstate if isinstance(orig, psycopg.Error) else None
