"""Dispatching with Zeus registers the shipment on the portal, once, and says how it went."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.zeus.conftest import PASSWORD, Zeus, ZeusShop

pytestmark = pytest.mark.usefixtures("database")


def _jobs(shop: ZeusShop) -> list[dict[str, Any]]:
    with shop.database.connect("superuser") as conn:
        cursor = conn.execute(
            "SELECT status, attempts, last_error FROM jobs WHERE org_id = %s AND kind = 'zeus.shipment' ORDER BY created_at",
            (shop.org,),
        )
        names = [c.name for c in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_dispatched_zeus_order_is_registered_with_its_tracking_code(
    shop: ZeusShop, zeus: Zeus, caplog: pytest.LogCaptureFixture
) -> None:
    assert shop.connect(zeus.portal_url).status_code == 201
    order = shop.dispatched()
    assert shop.shipment(order)["state"] == "queued"
    assert zeus.portal.shipments == []

    with caplog.at_level(logging.DEBUG):
        zeus.drain()

    [registered] = zeus.portal.shipments
    shipment = shop.shipment(order)
    assert shipment["state"] == "registered"
    assert shipment["tracking_code"] == registered.guia
    assert shipment["last_sync_at"] is not None and shipment["attempts"] == 1
    # What the portal got is the order's delivery data, with the amount to collect in soles.
    assert registered.referencia == order["code"]
    assert registered.destinatario == "María Huamán Quispe"
    assert registered.documento == "45678912" and registered.telefono == "+51987654321"
    assert registered.distrito == "150122" and registered.monto_cobrar == "109.80"
    # The session was released; the password was never logged.
    assert zeus.browserbase.running() == [] and len(zeus.browserbase.released()) == 1
    assert PASSWORD not in caplog.text
    assert shop.audit("shipment.registered")[0]["after"]["tracking_code"] == registered.guia
    assert _jobs(shop)[0]["status"] == "done"


def test_a_stored_tracking_code_ends_the_job_without_opening_a_browser(shop: ZeusShop, zeus: Zeus) -> None:
    from lib import jobs
    from lib.db import tenant_transaction
    from lib.tenancy import Actor, RequestMeta, TenantContext
    from lib.zeus import shipments

    shop.connect(zeus.portal_url)
    order = shop.dispatched()
    zeus.drain()
    sessions = zeus.browserbase.create_requests
    # A second job for the same shipment (a duplicate delivery of the queue, a replay): it ends
    # as soon as it sees the stored tracking code.
    ctx = TenantContext(shop.org, Actor.system(), RequestMeta(request_id="t", client_ip=None, user_agent=None))
    with tenant_transaction(ctx) as tx:
        shipment_id = tx.conn.execute(
            text("SELECT id FROM shipments WHERE order_id = :id"), {"id": order["id"]}
        ).scalar_one()
        jobs.enqueue(tx, shipments.KIND, {"shipment_id": str(shipment_id)}, datetime.now(UTC))
    zeus.drain()
    assert zeus.browserbase.create_requests == sessions
    assert len(zeus.portal.shipments) == 1
    assert [job["status"] for job in _jobs(shop)] == ["done", "done"]
    assert shop.shipment(order)["state"] == "registered"


def test_a_retry_after_the_shipment_was_created_finds_it_instead_of_registering_twice(
    shop: ZeusShop, zeus: Zeus
) -> None:
    shop.connect(zeus.portal_url)
    order = shop.dispatched()
    zeus.portal.break_tracking_page = True  # created on the portal, tracking page broken
    zeus.drain()
    assert len(zeus.portal.shipments) == 1
    retrying = shop.shipment(order)
    assert retrying["state"] == "retrying" and retrying["problem"] == "zeus_no_tracking_code"
    assert retrying["tracking_code"] is None

    zeus.portal.break_tracking_page = False
    zeus.drain(minutes_ahead=5)  # past the backoff
    [only] = zeus.portal.shipments
    shipment = shop.shipment(order)
    assert shipment["state"] == "registered" and shipment["tracking_code"] == only.guia
    assert shipment["attempts"] == 2
    assert zeus.browserbase.running() == [] and len(zeus.browserbase.released()) == 2


def test_wrong_credentials_need_review_at_once_with_a_screenshot(shop: ZeusShop, zeus: Zeus) -> None:
    shop.connect(zeus.portal_url, password="not-the-password")
    order = shop.dispatched()
    zeus.drain()
    shipment = shop.shipment(order)
    assert shipment["state"] == "needs_review" and shipment["problem"] == "zeus_login_rejected"
    assert shipment["has_screenshot"] is True
    assert zeus.portal.shipments == [] and zeus.browserbase.running() == []
    assert _jobs(shop)[0]["status"] == "done"  # the job's work ended: the shipment holds what a person needs
    assert shop.audit("shipment.needs_review")[0]["after"]["problem"] == "zeus_login_rejected"

    shot = shop["logistics"].get(f"/api/orders/{order['id']}/shipment/screenshot")
    assert shot.status_code == 200
    assert shot.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.headers["content-disposition"].startswith("attachment;")
    assert shot.headers["cache-control"] == "private, no-store"
    assert shop["seller"].get(f"/api/orders/{order['id']}/shipment/screenshot").status_code == 403
    # The download showed a recipient's details: who saw which order's page is in the audit trail,
    # once (the refused SELLER left no event).
    [seen] = shop.audit("shipment.screenshot_downloaded")
    assert (seen["target_type"], seen["target_id"], seen["after"]) == ("order", order["id"], {"carrier": "zeus"})

    # Fixed by the ADMIN, retried by logistics: registered, and the screenshot is released.
    assert shop.connect(zeus.portal_url).status_code == 200
    retried = shop["logistics"].post(f"/api/orders/{order['id']}/shipment")
    assert retried.status_code == 202 and retried.json()["state"] == "queued"
    assert shop["logistics"].post(f"/api/orders/{order['id']}/shipment").status_code == 409  # already queued
    zeus.drain()
    shipment = shop.shipment(order)
    assert shipment["state"] == "registered" and shipment["has_screenshot"] is False
    assert len(zeus.portal.shipments) == 1 and zeus.browserbase.running() == []


def test_a_portal_that_times_out_is_retried_with_backoff_then_needs_review(shop: ZeusShop, zeus: Zeus) -> None:
    from lib.zeus import shipments

    shop.connect(zeus.portal_url)
    order = shop.dispatched()
    zeus.portal.delays["/login"] = 6  # longer than ZEUS_STEP_TIMEOUT_SECONDS=3
    zeus.drain()
    shipment = shop.shipment(order)
    assert shipment["state"] == "retrying" and shipment["problem"] == "zeus_timeout"
    assert shipment["has_screenshot"] is False
    zeus.drain()  # not due yet: the backoff holds it
    assert shop.shipment(order)["attempts"] == 1

    # Each retry when its backoff (30 s, 1, 2, 4... minutes) has passed, until the 30-minute budget is spent.
    budget_minutes = shipments.RETRY_BUDGET.total_seconds() / 60
    elapsed, attempt = 0.0, 1
    while shop.shipment(order)["state"] == "retrying":
        elapsed += 2 ** (attempt - 1) / 2 + 0.1
        attempt += 1
        zeus.drain(minutes_ahead=elapsed)
        assert shop.shipment(order)["attempts"] == attempt
        assert attempt < 10, "the budget should have ended the retries"
    assert elapsed + 2 ** (attempt - 1) / 2 >= budget_minutes  # the next wait would have passed the budget
    shipment = shop.shipment(order)
    assert shipment["state"] == "needs_review" and shipment["problem"] == "zeus_timeout"
    assert shipment["has_screenshot"] is True
    assert zeus.portal.shipments == []
    assert zeus.browserbase.running() == []
    assert len(zeus.browserbase.released()) == attempt


def test_browserbase_down_is_retried_and_no_session_is_left(shop: ZeusShop, zeus: Zeus) -> None:
    shop.connect(zeus.portal_url)
    order = shop.dispatched()
    zeus.browserbase.fail_next_create = 503
    zeus.drain()
    # The SDK retries a 503 once (max_retries=1): that retry got a session, so it succeeded.
    assert shop.shipment(order)["state"] == "registered"
    assert zeus.browserbase.create_requests == 2 and zeus.browserbase.running() == []


def test_a_session_whose_browser_cannot_be_reached_is_released_and_retried(shop: ZeusShop, zeus: Zeus) -> None:
    shop.connect(zeus.portal_url)
    order = shop.dispatched()
    zeus.browserbase.crash_next_browser = True
    zeus.drain()
    shipment = shop.shipment(order)
    assert shipment["state"] == "retrying" and shipment["problem"] == "browser_unavailable"
    assert shipment["has_screenshot"] is False and zeus.portal.shipments == []
    assert zeus.browserbase.running() == [] and len(zeus.browserbase.released()) == 1

    zeus.drain(minutes_ahead=2)  # the next attempt gets a working browser
    assert shop.shipment(order)["state"] == "registered" and len(zeus.portal.shipments) == 1
    assert zeus.browserbase.running() == []


def test_without_credentials_the_shipment_needs_review_and_no_browser_opens(shop: ZeusShop, zeus: Zeus) -> None:
    order = shop.dispatched()
    zeus.drain()
    shipment = shop.shipment(order)
    assert shipment["state"] == "needs_review" and shipment["problem"] == "zeus_not_connected"
    assert zeus.browserbase.create_requests == 0


def test_a_district_the_courier_does_not_serve_needs_review(shop: ZeusShop, zeus: Zeus) -> None:
    shop.connect(zeus.portal_url)
    address = {
        "department": "Cusco",
        "province": "Cusco",
        "district": "Cusco",
        "ubigeo": "080101",
        "line": "Av. El Sol 100",
        "reference": "",
    }
    order = shop.dispatched(address=address)
    zeus.drain()
    shipment = shop.shipment(order)
    assert shipment["state"] == "needs_review" and shipment["problem"] == "zeus_district_not_served"
    assert zeus.browserbase.running() == []


def test_orders_not_going_with_zeus_queue_nothing(shop: ZeusShop, zeus: Zeus) -> None:
    order = shop.capture()
    for action in ("confirm", "prepare", "mark_ready"):
        order = shop.step(order, action)
    order = shop.step(order, "dispatch", carrier="olva")
    assert order["shipment"] is None and _jobs(shop) == []
    assert shop["admin"].post(f"/api/orders/{order['id']}/shipment").status_code == 409
    assert shop["admin"].get(f"/api/orders/{order['id']}/shipment").status_code == 404


def test_a_failing_job_reaches_sentry_without_the_credentials(
    shop: ZeusShop, zeus: Zeus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from lib.config import Secret, settings
    from lib.monitoring import init_monitoring, shutdown_monitoring
    from lib.zeus import portal
    from tests.lib.test_monitoring import CapturingTransport

    def broken(*args: object) -> None:
        raise KeyError("a bug in the portal code")

    shop.connect(zeus.portal_url)
    order = shop.dispatched()
    monkeypatch.setattr(portal, "find_shipment", broken)
    transport = CapturingTransport()
    assert init_monitoring(replace(settings(), sentry_dsn=Secret("https://0123@sentry.invalid/1")), transport=transport)
    try:
        zeus.drain()
    finally:
        shutdown_monitoring()
    assert shop.shipment(order)["problem"] == "zeus_unexpected_error"
    sent = transport.serialized()
    assert "KeyError" in sent and "zeus.shipment" in sent  # the event was sent
    assert PASSWORD not in sent and "tienda-demo-01" not in sent
    assert zeus.browserbase.running() == []
