"""Zeus through Browserbase, for real: the official SDK against a local fake of the Browserbase
API, whose sessions are fresh local Chromium processes, driven over CDP (lib/zeus/cdp), on a
local fake of the Zeus portal (scripts/standins). Chromium is required; nothing here skips."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripts.standins.browserbase_api import FakeBrowserbase
from scripts.standins.zeus_portal import ZeusPortal
from tests.api.orders.conftest import open_shop
from tests.api.payments.conftest import PaymentShop
from tests.conftest import Database
from tests.servers import serve

API_KEY = "bb_test_" + "z" * 24
PROJECT_ID = "proj-zentro-tests"
USERNAME, PASSWORD = "tienda-demo-01", "clave-zeus-Segura-77"


@dataclass
class Zeus:
    browserbase: FakeBrowserbase
    portal: ZeusPortal
    portal_url: str

    def drain(self, minutes_ahead: float = 0) -> Any:
        from lib.jobs import RunClock
        from lib.zeus import shipments

        return shipments.drain(RunClock.start(datetime.now(UTC) + timedelta(minutes=minutes_ahead), 280.0))


@pytest.fixture
def zeus(database: Database) -> Iterator[Zeus]:
    from lib.config import settings

    fake = FakeBrowserbase(api_key=API_KEY, project_id=PROJECT_ID)
    portal = ZeusPortal(accounts={USERNAME: PASSWORD})
    saved = {name: os.environ.get(name) for name in _ENV}
    try:
        with serve(fake.app) as browserbase_url, serve(portal.app) as portal_url:
            os.environ.update(
                {
                    "BROWSERBASE_API_KEY": API_KEY,
                    "BROWSERBASE_PROJECT_ID": PROJECT_ID,
                    "BROWSERBASE_BASE_URL": browserbase_url,
                    "ZEUS_STEP_TIMEOUT_SECONDS": "3",
                }
            )
            settings.cache_clear()
            yield Zeus(browserbase=fake, portal=portal, portal_url=portal_url)
    finally:
        fake.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.cache_clear()


_ENV = ("BROWSERBASE_API_KEY", "BROWSERBASE_PROJECT_ID", "BROWSERBASE_BASE_URL", "ZEUS_STEP_TIMEOUT_SECONDS")


class ZeusShop(PaymentShop):
    def connect(self, portal_url: str, username: str = USERNAME, password: str = PASSWORD, **headers: str) -> Any:
        return self.clients["admin"].put(
            "/api/integrations/zeus",
            json={"portal_url": portal_url, "username": username, "password": password},
            headers=headers,
        )

    def dispatched(self, **overrides: Any) -> dict[str, Any]:
        order = self.capture(**overrides)
        for action in ("confirm", "prepare", "mark_ready"):
            order = self.step(order, action)
        return self.step(order, "dispatch", carrier="zeus")

    def shipment(self, order: dict[str, Any]) -> dict[str, Any]:
        shipment: dict[str, Any] = self.order(order)["shipment"]
        return shipment


@pytest.fixture
def shop(database: Database, browser: Any) -> ZeusShop:
    base = open_shop(database, browser)
    return ZeusShop(org=base.org, accounts=base.accounts, clients=base.clients, database=base.database)
