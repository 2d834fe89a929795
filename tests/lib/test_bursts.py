"""Burst limits (lib/bursts) against the real table: counted once under concurrency, windows that
restart when they end, refusals that do not push the window on, and one count per person."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lib import bursts
from lib.bursts import Burst
from lib.http.errors import ApiError
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from tests.conftest import Database

BURST = Burst("tests.burst", allowed=3, window=timedelta(minutes=1))
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def _person(database: Database, org: uuid.UUID | None = None) -> TenantContext:
    org = org or database.create_org()
    user = database.create_user(org, "ADMIN")
    return TenantContext(
        org, Actor(user.id, Role.ADMIN), RequestMeta(request_id="bursts", client_ip=None, user_agent=None)
    )


def _refused(ctx: TenantContext, at: datetime, burst: Burst = BURST) -> int | None:
    """Spend one request at `at`: None when served, the Retry-After seconds when refused."""
    refusal: ApiError | None = None
    try:
        bursts.spend(ctx, burst, at)
    except ApiError as error:
        refusal = error
    if refusal is None:
        return None
    assert (refusal.status, refusal.code) == (429, "too_many_requests")
    assert refusal.params == {"seconds": int(refusal.headers["Retry-After"])}
    return int(refusal.headers["Retry-After"])


def test_the_allowed_requests_are_served_and_the_next_waits_for_the_window(database: Database) -> None:
    ctx = _person(database)
    assert [_refused(ctx, T0 + timedelta(seconds=s)) for s in (0, 1, 2)] == [None, None, None]
    assert _refused(ctx, T0 + timedelta(seconds=30)) == 30
    # A refusal counts but does not push the window on: it still ends a minute after it began.
    assert _refused(ctx, T0 + timedelta(seconds=59, milliseconds=500)) == 1
    assert _refused(ctx, T0 + timedelta(seconds=60)) is None
    assert [_refused(ctx, T0 + timedelta(seconds=61)), _refused(ctx, T0 + timedelta(seconds=62))] == [None, None]
    assert _refused(ctx, T0 + timedelta(seconds=63)) == 57


def test_concurrent_requests_are_each_counted_once(database: Database) -> None:
    ctx = _person(database)
    burst = Burst("tests.race", allowed=5, window=timedelta(minutes=1))
    outcomes: list[int | None] = []
    start = threading.Barrier(16)

    def request() -> None:
        start.wait()
        outcomes.append(_refused(ctx, T0, burst))

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(None) == 5
    assert sorted(o for o in outcomes if o is not None) == [60] * 11


def test_each_person_and_each_kind_has_its_own_count(database: Database) -> None:
    ctx = _person(database)
    colleague = _person(database, ctx.org_id)
    elsewhere = _person(database)
    for _ in range(BURST.allowed):
        assert _refused(ctx, T0) is None
    assert _refused(ctx, T0) == 60
    other_kind = Burst("tests.other", allowed=1, window=timedelta(minutes=1))
    assert _refused(ctx, T0, other_kind) is None
    assert _refused(colleague, T0) is None
    assert _refused(elsewhere, T0) is None
    with database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT org_id, user_id, kind, hits FROM request_bursts WHERE user_id = ANY(%s)",
            ([ctx.actor.user_id, colleague.actor.user_id, elsewhere.actor.user_id],),
        ).fetchall()
    assert set(rows) == {
        (ctx.org_id, ctx.actor.user_id, "tests.burst", 4),
        (ctx.org_id, ctx.actor.user_id, "tests.other", 1),
        (ctx.org_id, colleague.actor.user_id, "tests.burst", 1),
        (elsewhere.org_id, elsewhere.actor.user_id, "tests.burst", 1),
    }


def test_the_application_cannot_wipe_its_count(database: Database) -> None:
    ctx = _person(database)
    assert _refused(ctx, T0) is None
    with database.connect("app") as conn, pytest.raises(Exception, match="permission denied"):
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(ctx.org_id),))
        conn.execute("DELETE FROM request_bursts")


def test_the_system_itself_is_not_counted() -> None:
    system = TenantContext(
        uuid.uuid4(), Actor.system(), RequestMeta(request_id="cron", client_ip=None, user_agent=None)
    )
    with pytest.raises(ValueError, match="count people"):
        bursts.spend(system, BURST, T0)
