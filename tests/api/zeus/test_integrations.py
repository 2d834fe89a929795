"""The Zeus credentials: only an ADMIN sets, sees (a hint of), tests and removes them; the secret
is sealed, never returned, never in the audit trail or the logs."""

from __future__ import annotations

import logging

import pytest

from tests.api.zeus.conftest import PASSWORD, USERNAME, Zeus, ZeusShop

URL = "https://zeus.example-courier.pe"


def test_only_an_admin_manages_the_credentials(shop: ZeusShop) -> None:
    body = {"portal_url": URL, "username": USERNAME, "password": PASSWORD}
    for who in ("supervisor", "seller", "logistics"):
        assert shop[who].put("/api/integrations/zeus", json=body).status_code == 403
        assert shop[who].get("/api/integrations/zeus").status_code == 403
        assert shop[who].delete("/api/integrations/zeus").status_code == 403
        assert shop[who].post("/api/integrations/zeus/test").status_code == 403
    assert shop.count("integrations") == 0
    assert shop["admin"].put("/api/integrations/zeus", json=body).status_code == 201
    assert shop.count("integrations") == 1


def test_the_secret_is_sealed_never_returned_audited_or_logged(
    shop: ZeusShop, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        created = shop.connect(URL)
        read = shop["admin"].get("/api/integrations/zeus")
    assert created.status_code == 201 and read.status_code == 200
    view = read.json()
    assert view["portal_url"] == URL and view["username_hint"] == "…o-01"
    assert view["credentials_set_by"] == str(shop.accounts["admin"].id) and view["last_test"] is None
    for text in (created.text, read.text, caplog.text):
        assert PASSWORD not in text and USERNAME not in text
    with shop.database.connect("superuser") as conn:
        [(stored,)] = conn.execute("SELECT credentials FROM integrations WHERE org_id = %s", (shop.org,)).fetchall()
        audit = conn.execute("SELECT before::text, after::text FROM audit_events WHERE org_id = %s", (shop.org,))
        trail = " ".join(str(value) for row in audit.fetchall() for value in row)
    assert PASSWORD.encode() not in bytes(stored) and USERNAME.encode() not in bytes(stored)
    assert bytes(stored)[0] == 1  # sealed format version 1
    assert PASSWORD not in trail and USERNAME not in trail
    assert [event["after"]["username_hint"] for event in shop.audit("integration.connected")] == ["…o-01"]


def test_replacing_needs_the_current_version_when_one_is_sent_and_is_audited(shop: ZeusShop) -> None:
    first = shop.connect(URL).json()
    stale = shop.connect(URL, password="otra-clave-1", **{"If-Match": '"99"'})
    assert stale.status_code == 409
    replaced = shop.connect(URL, password="otra-clave-1", **{"If-Match": f'"{first["version"]}"'})
    assert replaced.status_code == 200 and replaced.json()["version"] == first["version"] + 1
    assert len(shop.audit("integration.replaced")) == 1

    removed = shop["admin"].delete("/api/integrations/zeus", headers={"If-Match": '"1"'})
    assert removed.status_code == 409 and shop.count("integrations") == 1
    assert shop["admin"].delete("/api/integrations/zeus").status_code == 204
    assert shop.count("integrations") == 0
    assert shop["admin"].get("/api/integrations/zeus").json()["error"]["code"] == "integration_not_connected"
    assert shop.audit("integration.removed")[0]["before"]["portal_url"] == URL


@pytest.mark.parametrize(
    "portal_url",
    [
        "http://zeus.example-courier.pe",  # not https
        "https://user:pw@zeus.example-courier.pe",  # credentials in the URL
        "https://zeus.example-courier.pe/?next=/x",  # query
        "javascript:alert(1)",
        "https://",
    ],
)
def test_a_bad_portal_url_is_refused_and_nothing_is_stored(shop: ZeusShop, portal_url: str) -> None:
    response = shop.connect(portal_url)
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_failed"
    assert shop.count("integrations") == 0


@pytest.mark.parametrize(
    "portal_url",
    [
        "https://zeus-portal.example.net",  # a look-alike
        "https://zeus.example-courier.pe.attacker.example",  # the real name as a prefix
        "https://example-courier.pe",  # the parent domain
        "https://portal.zeus.example-courier.pe",  # a subdomain nobody listed
    ],
)
def test_a_portal_on_a_host_not_listed_is_refused_and_nothing_is_stored(shop: ZeusShop, portal_url: str) -> None:
    response = shop.connect(portal_url, **{"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "portal_host_not_allowed" and error["message"].startswith("That address is not")
    assert shop.count("integrations") == 0
    # The same request to the listed host (ZEUS_PORTAL_HOSTS, tests/conftest.py) is accepted.
    assert shop.connect(URL).status_code == 201


def test_unknown_fields_are_refused(shop: ZeusShop) -> None:
    body = {"portal_url": URL, "username": USERNAME, "password": PASSWORD, "org_id": str(shop.org)}
    assert shop["admin"].put("/api/integrations/zeus", json=body).status_code == 422
    assert shop.count("integrations") == 0


def test_the_connection_test_logs_in_and_keeps_the_outcome(shop: ZeusShop, zeus: Zeus) -> None:
    shop.connect(zeus.portal_url, password="wrong")
    failed = shop["admin"].post("/api/integrations/zeus/test")
    assert failed.status_code == 200
    assert failed.json()["last_test"]["ok"] is False
    assert failed.json()["last_test"]["problem"] == "zeus_login_rejected"

    shop.connect(zeus.portal_url)
    passed = shop["admin"].post("/api/integrations/zeus/test").json()
    assert passed["last_test"]["ok"] is True and passed["last_test"]["problem"] is None
    assert zeus.browserbase.running() == [] and len(zeus.browserbase.released()) == 2
    assert [e["after"]["ok"] for e in shop.audit("integration.tested")] == [False, True]


def test_another_organizations_credentials_are_invisible(shop: ZeusShop, database: object, browser: object) -> None:
    from tests.api.orders.conftest import open_shop

    shop.connect(URL)
    other = open_shop(shop.database, browser, name="Otra Tienda")
    assert other["admin"].get("/api/integrations/zeus").status_code == 404
    assert other["admin"].delete("/api/integrations/zeus").status_code == 404
    assert shop.count("integrations") == 1
