"""Pipelined reads: one round trip, the tenant's rows only, read-only, and a clean connection after
an error; each test runs for both drivers: `tenant_read` (worker thread) and `tenant_read_async`
(event loop)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from psycopg import errors
from psycopg.pq import TransactionStatus
from sqlalchemy import bindparam, text
from sqlalchemy.types import Integer

from lib.config import settings as load_settings
from lib.db import tenant_transaction
from lib.db.pipeline import tenant_read, tenant_read_async, unscoped_once
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from tests.conftest import Database

Reader = Callable[..., list[list[Any]]]


def _on_a_loop(ctx: TenantContext, *statements: Any, **options: Any) -> list[list[Any]]:
    return asyncio.run(tenant_read_async(ctx, *statements, **options))


@pytest.fixture(params=["worker thread", "event loop"])
def read(request: pytest.FixtureRequest) -> Reader:
    return tenant_read if request.param == "worker thread" else _on_a_loop


def _ctx(org: uuid.UUID) -> TenantContext:
    return TenantContext(
        org, Actor(uuid.uuid4(), Role.ADMIN), RequestMeta(request_id="t", client_ip=None, user_agent=None)
    )


_NAME = text("SELECT name FROM organizations WHERE id = :id")
_SETTINGS = text(
    "SELECT current_setting('app.org_id', true) AS org, current_setting('plan_cache_mode') AS plans, "
    "current_setting('transaction_read_only') AS read_only, "
    "(SELECT setting FROM pg_settings WHERE name = 'statement_timeout') AS timeout_ms"
)


def test_a_read_of_several_statements_is_one_round_trip(read: Reader, database: Database, round_trips: Any) -> None:
    org = database.create_org("Pipeline")
    ctx = _ctx(org)
    read(ctx, (_NAME, {"id": org}))  # warm: the pool's connection is open
    unscoped_once(text("SELECT 1"), {})  # and the engine's
    with round_trips.counting() as count:
        [names, settings] = read(ctx, (_NAME, {"id": org}), (_SETTINGS, {}))
    assert count.value == 1
    assert names[0].name == "Pipeline"
    assert (settings[0].org, settings[0].plans, settings[0].read_only) == (str(org), "auto", "on")
    assert settings[0].timeout_ms == str(load_settings().database_statement_timeout_ms)  # 0 (none) outside reads
    with round_trips.counting() as count:
        [[row]] = [unscoped_once(text("SELECT 41 + 1 AS answer"), {})]
    assert count.value == 1 and row.answer == 42
    # the proxy does count: an ordinary transaction takes several turns
    with round_trips.counting() as count, tenant_transaction(ctx) as tx:
        tx.conn.execute(_NAME, {"id": org})
    assert count.value > 1


def test_a_read_sees_only_its_organization(read: Reader, database: Database) -> None:
    ours, theirs = database.create_org("Nuestra"), database.create_org("Ajena")
    [rows] = read(_ctx(ours), (_NAME, {"id": theirs}))
    assert rows == []
    [rows] = read(_ctx(theirs), (_NAME, {"id": theirs}))
    assert rows[0].name == "Ajena"


def test_custom_plans_are_asked_for_per_read_and_do_not_outlive_it(read: Reader, database: Database) -> None:
    org = database.create_org()
    [[custom]] = read(_ctx(org), (_SETTINGS, {}), custom_plans=True)
    assert custom.plans == "force_custom_plan"
    [[after]] = read(_ctx(org), (_SETTINGS, {}))
    assert after.plans == "auto"


def test_a_read_cannot_write(read: Reader, database: Database) -> None:
    org = database.create_org("Solo lectura")
    with pytest.raises(errors.ReadOnlySqlTransaction):
        read(_ctx(org), (text("UPDATE organizations SET name = 'x' WHERE id = :id"), {"id": org}))
    [rows] = read(_ctx(org), (_NAME, {"id": org}))
    assert rows[0].name == "Solo lectura"  # and the pooled connection works after the failure


def test_typed_bind_parameters_are_refused_rather_than_lost(read: Reader, database: Database) -> None:
    typed = text("SELECT :n AS n").bindparams(bindparam("n", type_=Integer))
    with pytest.raises(TypeError):
        read(_ctx(database.create_org()), (typed, {"n": 1}))


def _bet(database: Database, role: str = "ADMIN", **claims: Any) -> tuple[TenantContext, uuid.UUID]:
    """A context betting on a live session of an ADMIN (its check not settled yet), and the org;
    `role` and `claims` (Database.session_fingerprint) are what the bet says the session is."""
    from lib.auth.sessions import new_token, token_hash
    from lib.db.session_check import SessionCheck

    org = database.create_org("Apuesta")
    account = database.create_user(org, "ADMIN")
    digest = token_hash(new_token())
    with database.connect("superuser") as conn:
        [[now]] = conn.execute(
            "INSERT INTO sessions (org_id, user_id, token_hash, created_at, last_seen_at, expires_at) "
            "VALUES (%s, %s, %s, now(), now(), now() + interval '1 hour') RETURNING now()",
            (org, account.id, digest),
        ).fetchall()
    check = SessionCheck(digest, now, 3600, database.session_fingerprint(digest, now, role=role, **claims))
    ctx = TenantContext(org, Actor(account.id, Role(role)), _ctx(org).request, session_check=check)
    return ctx, org


def test_a_bet_is_settled_in_the_reads_round_trip_and_the_read_stays_read_only(
    read: Reader, database: Database, round_trips: Any
) -> None:
    read(_ctx(database.create_org()), (_SETTINGS, {}))  # warm: the pool's connection is open
    ctx, org = _bet(database)
    assert ctx.session_check is not None and ctx.session_check.pending
    with round_trips.counting() as count:
        [[settings]] = read(ctx, (_SETTINGS, {}))
    assert count.value == 1
    assert (settings.org, settings.read_only) == (str(org), "on")
    assert ctx.session_check.confirmed

    ctx, org = _bet(database)
    with pytest.raises(errors.ReadOnlySqlTransaction):
        read(ctx, (text("UPDATE organizations SET name = 'x' WHERE id = :id"), {"id": org}))


@pytest.mark.parametrize(
    "claim",
    [
        {"session_id": uuid.UUID(int=1)},
        {"org_id": uuid.UUID(int=2)},
        {"user_id": uuid.UUID(int=3)},
        {"role": "SUPERVISOR"},
        {"language": "en"},
        {"mfa_enabled": True},
        {"org_mfa_required": True},
    ],
    ids=lambda claim: next(iter(claim)),
)
def test_a_bet_wrong_about_any_field_of_the_session_is_lost(
    read: Reader, database: Database, claim: dict[str, Any]
) -> None:
    """Every field authorization and the response use is part of what the database checks: the
    same session, bet on with one field different, reads nothing (the true bet: the test above)."""
    from lib.db.session_check import SessionChanged

    ctx, org = _bet(database, **claim)
    with pytest.raises(SessionChanged):
        read(ctx, (_NAME, {"id": org}))
    assert ctx.session_check is not None and ctx.session_check.pending


def test_a_lost_bet_raises_and_reads_nothing(read: Reader, database: Database) -> None:
    from lib.db.session_check import SessionChanged

    ctx, org = _bet(database, role="SELLER")  # the session is an ADMIN's
    with pytest.raises(SessionChanged):
        read(ctx, (_NAME, {"id": org}))
    assert ctx.session_check is not None and ctx.session_check.pending
    with pytest.raises(SessionChanged), tenant_transaction(ctx) as tx:
        tx.conn.execute(text("UPDATE organizations SET name = 'x' WHERE id = :id"), {"id": org})
    [[row]] = read(_ctx(org), (_NAME, {"id": org}))
    assert row.name == "Apuesta"  # the transaction stopped at its first statement


def test_a_cancelled_read_leaves_nothing_open_for_the_next(database: Database) -> None:
    from lib.db.engine import get_async_pool

    org = database.create_org("Cancelada")
    slow = (text("SELECT pg_sleep(5) AS slept"), {})

    async def cancel_then_read() -> tuple[str, TransactionStatus, Any]:
        await tenant_read_async(_ctx(org), (_NAME, {"id": org}))  # warm: a pooled connection is open
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(tenant_read_async(_ctx(org), slow), 0.05)
        [[row]] = await tenant_read_async(_ctx(org), (_NAME, {"id": org}))
        async with get_async_pool().connection() as conn:  # what the pool now hands out
            status = conn.info.transaction_status
            org_set = await (await conn.execute("SELECT current_setting('app.org_id', true)")).fetchone()
            return row.name, status, org_set

    began = time.monotonic()
    name, status, org_set = asyncio.run(cancel_then_read())
    # psycopg cancelled the query on the server (no 5 s wait) and the pipeline's Sync ended its
    # transaction: the next read ran, and what the pool keeps is idle, outside any transaction.
    assert name == "Cancelada" and time.monotonic() - began < 2
    assert status == TransactionStatus.IDLE and org_set in {("",), (None,)}
    with database.connect("superuser") as conn:  # sees every role's queries
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND state <> 'idle' AND pid <> pg_backend_pid()",
            ("%pg_sleep(5)%",),
        ).fetchone()
    assert left == (0,)
