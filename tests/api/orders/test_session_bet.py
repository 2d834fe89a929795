"""Reads bet on the session an instance remembers; the database settles the bet before anything is answered.

A warm instance that resolved a cookie lately reads without looking the session up first: the
check rides in the read's own round trip (lib/db/session_check). These tests hold what that must
never change: a revoked session is refused, a changed one is served as it now is, refusals are
only decided on a confirmed session, and the database itself shows nothing to a lost bet.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from lib.http import Call, Operation, function_app, requires
from lib.http.schemas import Schema
from lib.permissions import Permission
from scripts.roundtrips import RoundTripProxy
from tests.api.orders.conftest import Shop
from tests.conftest import Database


def _revoke_everywhere(database: Database, account_id: uuid.UUID) -> None:
    """What a logout or an administrator does on another instance: this one still remembers."""
    with database.connect("superuser") as conn:
        conn.execute("UPDATE sessions SET revoked_at = now() WHERE user_id = %s", (account_id,))


def _warm(client: Any) -> None:
    response = client.get("/api/orders")
    assert response.status_code == 200, response.text


def test_a_remembered_session_reads_in_one_round_trip_and_an_unseen_one_in_two(
    shop: Shop, round_trips: RoundTripProxy
) -> None:
    from lib.auth import sessions
    from lib.config import settings

    client = shop["admin"]
    shop.capture()
    _warm(client)
    with round_trips.counting() as count:
        response = client.get("/api/orders")
    assert response.status_code == 200 and len(response.json()["orders"]) == 1
    assert count.value == 1
    sessions.forget(sessions.token_hash(client.cookies[settings().session_cookie_name]))
    with round_trips.counting() as count:
        assert client.get("/api/orders").status_code == 200
    assert count.value == 2  # looked up, then read


def test_a_session_revoked_elsewhere_is_refused_although_this_instance_remembers_it(shop: Shop) -> None:
    client = shop["admin"]
    order = shop.capture()
    _warm(client)
    before = client.get(f"/api/orders/{order['id']}")
    assert before.status_code == 200

    _revoke_everywhere(shop.database, shop.accounts["admin"].id)
    for path in ("/api/orders", f"/api/orders/{order['id']}", f"/api/orders/{order['id']}/timeline"):
        response = client.get(path)
        assert response.status_code == 401, (path, response.text)
        assert order["code"] not in response.text


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        ("/api/orders/not-an-id", 404),  # a plain handler
        ("/api/orders?limit=many", 422),  # a coroutine handler, refused while validating
        ("/api/orders?cursor=not-ours", 422),  # a coroutine handler, refused by the handler
    ],
)
def test_refusals_wait_for_the_session_check(shop: Shop, path: str, refusal: int) -> None:
    """A 404 or a 422 is an answer too: a revoked session gets 401 before either."""
    client = shop["admin"]
    _warm(client)
    assert client.get(path).status_code == refusal

    _revoke_everywhere(shop.database, shop.accounts["admin"].id)  # still remembered here
    assert client.get(path).status_code == 401


def test_a_session_changed_in_the_database_is_served_as_it_now_is(shop: Shop, round_trips: RoundTripProxy) -> None:
    """The remembered role is ADMIN; the database now says LOGISTICS (set behind the app's back,
    without the revocation a role change through the API makes): the list is LOGISTICS' view."""
    pending = shop.capture()
    client = shop["admin"]
    _warm(client)
    assert pending["id"] in {o["id"] for o in client.get("/api/orders").json()["orders"]}

    with shop.database.connect("superuser") as conn:
        conn.execute("UPDATE users SET role = 'LOGISTICS' WHERE id = %s", (shop.accounts["admin"].id,))
    with round_trips.counting() as count:
        response = client.get("/api/orders")
    assert response.status_code == 200
    assert pending["id"] not in {o["id"] for o in response.json()["orders"]}  # pending: not delivery's
    assert count.value == 3  # the lost bet, the fresh lookup, the read
    with round_trips.counting() as count:
        assert client.get("/api/orders").status_code == 200
    assert count.value == 1  # the new session is the one remembered now


class Hello(Schema):
    user_id: str


def _hello(call: Call[None, None]) -> Hello:
    _, session = call.require_tenant()
    return Hello(user_id=str(session.user_id))  # answers from the session alone: no database access


async def _hello_on_the_loop(call: Call[None, None]) -> Hello:
    return _hello(call)


@pytest.fixture(params=["worker thread", "event loop"])
def hello(shop: Shop, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """A handler answering from the session alone: a plain one, and a coroutine (factory runs both)."""
    from lib.config import settings

    handler = _hello if request.param == "worker thread" else _hello_on_the_loop
    app = function_app(
        "/api/hello", Operation("GET", handler, access=requires(Permission.SESSION_READ), response=Hello)
    )
    name = settings().session_cookie_name
    with TestClient(app, base_url="http://localhost:3000", cookies={name: shop["admin"].cookies[name]}) as client:
        yield client


def test_a_handler_that_never_reads_the_database_still_waits_for_the_check(shop: Shop, hello: TestClient) -> None:
    assert hello.get("/api/hello").status_code == 200  # the lookup: remembered from now on
    assert hello.get("/api/hello").json() == {"user_id": str(shop.accounts["admin"].id)}

    _revoke_everywhere(shop.database, shop.accounts["admin"].id)
    response = hello.get("/api/hello")
    assert response.status_code == 401
    assert str(shop.accounts["admin"].id) not in response.text


def _confirm_and_count(database: Database, org: uuid.UUID, role: str) -> tuple[str, int]:
    """The check as the read pipeline sends it, betting that the org's ADMIN session has `role`,
    then a read, as the application role."""
    from lib.db.session_check import CONFIRM

    with database.connect("superuser") as conn:
        row = conn.execute(
            "SELECT s.token_hash, s.created_at FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.org_id = %s AND u.role = 'ADMIN' AND s.revoked_at IS NULL "
            "ORDER BY s.created_at DESC LIMIT 1",
            (org,),
        ).fetchone()
    assert row is not None
    digest, created_at = row
    params = {
        "hash": digest,
        "now": created_at,
        "idle": 3600,
        "timeout": "5000",
        "fingerprint": database.session_fingerprint(digest, created_at, role=role),
    }
    with database.connect("app", autocommit=True) as conn, conn.transaction():
        conn.execute(re.sub(r"(?<!:):(\w+)", r"%(\1)s", CONFIRM.text), params)
        [[org_setting, visible]] = conn.execute(
            "SELECT current_setting('app.org_id', true), count(*) FROM orders"
        ).fetchall()
    return org_setting or "", int(visible)


def test_the_database_shows_nothing_to_a_lost_bet(shop: Shop) -> None:
    shop.capture()
    org_setting, visible = _confirm_and_count(shop.database, shop.org, "ADMIN")
    assert (org_setting, visible) == (str(shop.org), 1)
    org_setting, visible = _confirm_and_count(shop.database, shop.org, "SELLER")  # not what the session is
    assert (org_setting, visible) == ("", 0)


def test_a_session_this_instance_ends_is_forgotten_so_its_cookie_is_refused_in_one_round_trip(
    shop: Shop, round_trips: RoundTripProxy
) -> None:
    """Revoked elsewhere, a remembered session loses its bet first (two round trips to the 401);
    logged out here, it is looked up at once (one)."""
    from lib.config import settings

    name = settings().session_cookie_name
    elsewhere, here = shop["supervisor"], shop["admin"]
    for client in (elsewhere, here):
        _warm(client)

    _revoke_everywhere(shop.database, shop.accounts["supervisor"].id)
    with round_trips.counting() as count:
        assert elsewhere.get("/api/orders").status_code == 401
    assert count.value == 2  # the bet, lost; then the lookup

    token = here.cookies[name]
    assert here.post("/api/auth/logout").status_code == 204
    here.cookies.set(name, token)  # the old cookie again, as a copy of it would send it
    with round_trips.counting() as count:
        assert here.get("/api/orders").status_code == 401
    assert count.value == 1  # looked up, refused


def test_sessions_an_administrator_ends_here_are_forgotten_here(shop: Shop, round_trips: RoundTripProxy) -> None:
    """A role change revokes every session of the user (lib/users): this instance forgets them."""
    seller = shop["seller"]
    _warm(seller)
    changed = shop["admin"].patch(f"/api/users/{shop.accounts['seller'].id}", json={"role": "LOGISTICS"})
    assert changed.status_code == 200, changed.text
    with round_trips.counting() as count:
        assert seller.get("/api/orders").status_code == 401
    assert count.value == 1
