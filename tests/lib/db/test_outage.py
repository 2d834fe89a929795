"""A database restart costs no request, and a database that is down gets 503, not 500.

Issue 17 #5: during a Postgres restart requests answered 500 `internal_error` (and were reported
to Sentry as bugs), and after it the first requests of a warm instance failed on dead pooled
connections. Here the real Postgres of the test session has its connections killed
(pg_terminate_backend) and is stopped and started again (pg_ctl).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Database, sign_in
from tests.order_samples import order_payload


def kill_app_connections(database: Database) -> int:
    """Terminate every server process of the application's role, as a restart or failover would."""
    with database.connect("superuser") as conn:
        [[killed]] = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'zentro_api'"
        ).fetchall()
    return int(killed)


@pytest.fixture
def shop(database: Database, browser: Any) -> dict[str, Any]:
    org = database.create_org()
    admin = database.create_user(org, "ADMIN")
    client = browser()
    sign_in(client, admin)
    order = client.post("/api/orders", json=order_payload())
    assert order.status_code == 201, order.text
    return {"org": org, "admin": admin, "client": client, "order": order.json()}


# Each of the ways a request reaches the database: a pipelined list read on the event loop, a
# pipelined detail read, a write transaction, and a sign-in (unscoped lookups, then a write).
ROADS = {
    "list": lambda s: s["client"].get("/api/orders"),
    "detail": lambda s: s["client"].get(f"/api/orders/{s['order']['id']}"),
    "write": lambda s: s["client"].post("/api/orders", json=order_payload()),
    "sign-in": lambda s: s["client"].post(
        "/api/auth/login", json={"email": s["admin"].email, "password": s["admin"].password}
    ),
}


@pytest.mark.parametrize("road", list(ROADS))
def test_the_first_request_after_our_connections_were_killed_succeeds(
    database: Database, shop: dict[str, Any], road: str
) -> None:
    request = ROADS[road]
    assert request(shop).status_code in (200, 201)  # warm: the pools hold connections now
    assert kill_app_connections(database) >= 1
    response = request(shop)
    assert response.status_code in (200, 201), response.text
    assert kill_app_connections(database) >= 1  # and again, with the refreshed pools
    assert request(shop).status_code in (200, 201)


@pytest.fixture
def stopped(database: Database) -> Iterator[Any]:
    """Stop the session's Postgres for the test's body (`stopped.start()` brings it back early)."""
    from pgserver._commands import pg_ctl  # type: ignore[import-untyped]

    server = database.local.server

    class Switch:
        running = True

        def stop(self) -> None:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=30)
            self.running = False

        def start(self) -> None:
            if not self.running:
                server.ensure_postgres_running()
                self.running = True

    switch = Switch()
    try:
        yield switch
    finally:
        switch.start()


def test_with_the_database_stopped_requests_answer_503_and_nothing_is_written(
    database: Database, shop: dict[str, Any], stopped: Any, caplog: Any
) -> None:
    with database.connect("superuser") as conn:
        [[orders_before]] = conn.execute("SELECT count(*) FROM orders WHERE org_id = %s", (shop["org"],)).fetchall()
    stopped.stop()
    with caplog.at_level(logging.WARNING):
        answers = {road: request(shop) for road, request in ROADS.items()}
        english = shop["client"].get("/api/orders", headers={"Accept-Language": "en"})
    for road, response in answers.items():
        assert response.status_code == 503, (road, response.text)
        assert response.headers["retry-after"] == "5"
        error = response.json()["error"]
        assert error["code"] == "service_unavailable" and error["request_id"]
        assert error["message"].startswith("El servicio no está disponible")
    assert english.json()["error"]["message"].startswith("The service is briefly unavailable")
    # An outage is counted, not reported as a bug.
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("database_unavailable") == len(answers) + 1
    assert "unhandled_exception" not in messages

    stopped.start()
    with database.connect("superuser") as conn:
        [[orders_after]] = conn.execute("SELECT count(*) FROM orders WHERE org_id = %s", (shop["org"],)).fetchall()
    assert orders_after == orders_before  # the refused capture wrote nothing
    for road, request in ROADS.items():  # and once it is back, every road works at once
        assert request(shop).status_code in (200, 201), road
