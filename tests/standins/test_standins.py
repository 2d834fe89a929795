"""The local stand-ins themselves: the fake Zeus portal keeps its page contract, and the fake
Browserbase hands the real SDK and our CDP client a real, fresh, released-on-request Chromium.

Chromium is required: nothing here skips when it is missing (find_chromium raises)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import browserbase
import httpx
import pytest

from lib.zeus.cdp import connect_page
from scripts.standins.browserbase_api import COMPLETED, RUNNING, FakeBrowserbase
from scripts.standins.chromium import ChromiumMissing, find_chromium, launch_chromium
from scripts.standins.zeus_portal import SESSION_COOKIE, PortalShipment, ZeusPortal
from tests.servers import serve

API_KEY = "bb_test_" + "k" * 24
PROJECT_ID = "proj-standins"
USER, PASSWORD = "demo", "demo-zeus-clave"
GUIA = re.compile(r"^/envios/(ZS\d{8})$")

VALID = {
    "destinatario": "Ana Quispe",
    "documento": "45678912",
    "telefono": "987654321",
    "direccion": "Av. Arequipa 1234",
    "distrito": "150122",
    "monto_cobrar": "120.50",
    "referencia": "ORD-1001",
    "indicaciones": "Frente al parque",
}


@pytest.fixture
def portal() -> ZeusPortal:
    return ZeusPortal(accounts={USER: PASSWORD, "otra": "otra-clave"})


@pytest.fixture
def portal_url(portal: ZeusPortal) -> Iterator[str]:
    with serve(portal.app) as url:
        yield url


@contextmanager
def _signed_in(portal_url: str, user: str = USER, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=portal_url) as client:
        response = client.post("/login", data={"usuario": user, "clave": password})
        assert response.status_code == 303 and response.headers["location"] == "/panel"
        yield client


@pytest.fixture
def client(portal_url: str) -> Iterator[httpx.Client]:
    with _signed_in(portal_url) as signed_in:
        yield signed_in


def _register(client: httpx.Client, **overrides: str) -> httpx.Response:
    return client.post("/envios", data={**VALID, **overrides})


# --- the fake Zeus portal ---------------------------------------------------------------------


def test_login_sets_an_httponly_session_cookie_and_opens_the_panel(portal_url: str) -> None:
    with httpx.Client(base_url=portal_url) as client:
        form = client.get("/login")
        assert form.status_code == 200
        assert form.headers["content-type"] == "text/html; charset=utf-8"
        for fragment in (
            '<form id="form-login" method="post" action="/login">',
            'name="usuario"',
            '<input name="clave" type="password">',
            '<button type="submit" id="ingresar">Ingresar</button>',
        ):
            assert fragment in form.text

        response = client.post("/login", data={"usuario": USER, "clave": PASSWORD})
        assert response.status_code == 303 and response.headers["location"] == "/panel"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "Path=/" in cookie

        panel = client.get("/panel")
        assert panel.status_code == 200
        assert '<span id="usuario-actual">demo</span>' in panel.text
        assert '<a href="/envios/nuevo">Nuevo envío</a>' in panel.text
        assert '<a href="/envios">Buscar envíos</a>' in panel.text


@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("nadie", PASSWORD), ("", "")])
def test_wrong_credentials_show_the_login_form_with_an_alert(portal_url: str, user: str, password: str) -> None:
    response = httpx.post(f"{portal_url}/login", data={"usuario": user, "clave": password})
    assert response.status_code == 200
    assert '<div class="alerta-error" role="alert">Usuario o clave incorrectos</div>' in response.text
    assert 'id="form-login"' in response.text
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/panel"), ("GET", "/envios?referencia=X"), ("GET", "/envios/nuevo"), ("GET", "/envios/ZS12345678")],
)
def test_pages_without_a_valid_session_redirect_to_login(portal_url: str, method: str, path: str) -> None:
    for cookies in ({}, {SESSION_COOKIE: "forged"}):
        response = httpx.request(method, f"{portal_url}{path}", cookies=cookies)
        assert response.status_code == 303 and response.headers["location"] == "/login"


def test_registering_without_a_session_redirects_and_creates_nothing(portal: ZeusPortal, portal_url: str) -> None:
    response = httpx.post(f"{portal_url}/envios", data=VALID)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert portal.shipments == []


def test_search_shows_the_form_then_no_results_then_the_match(client: httpx.Client) -> None:
    form_only = client.get("/envios")
    assert '<form id="form-buscar" method="get" action="/envios">' in form_only.text
    assert 'id="resultados"' not in form_only.text and 'id="sin-resultados"' not in form_only.text

    empty = client.get("/envios", params={"referencia": "ORD-1001"})
    assert '<p id="sin-resultados">No se encontraron envíos</p>' in empty.text
    assert 'id="resultados"' not in empty.text

    guia = GUIA.match(_register(client).headers["location"])
    assert guia is not None
    found = client.get("/envios", params={"referencia": "ORD-1001"})
    assert '<table id="resultados">' in found.text
    assert (
        '<tr class="envio" data-referencia="ORD-1001"><td class="referencia">ORD-1001</td>'
        f'<td class="guia"><a href="/envios/{guia[1]}">{guia[1]}</a></td><td class="estado">Registrado</td></tr>'
    ) in found.text
    # Exact match only.
    assert 'id="sin-resultados"' in client.get("/envios", params={"referencia": "ORD-100"}).text


def test_new_shipment_form_lists_the_served_districts(portal_url: str) -> None:
    with _signed_in(portal_url) as client:
        page = client.get("/envios/nuevo").text
    assert '<form id="form-envio" method="post" action="/envios">' in page
    for name in ("destinatario", "documento", "telefono", "direccion", "monto_cobrar", "referencia"):
        assert f'<input name="{name}"' in page
    assert '<select name="distrito">' in page and '<textarea name="indicaciones"' in page
    assert '<button type="submit" id="registrar">Registrar envío</button>' in page
    served = re.findall(r'<option value="(\d{6})"', page)
    assert len(served) == 43 + 7 and {"150101", "150143", "070101", "070107"} <= set(served)


def test_districts_can_be_overridden() -> None:
    portal = ZeusPortal(districts=["150122"])
    with serve(portal.app) as url, _signed_in(url) as client:
        assert re.findall(r'<option value="(\d{6})"', client.get("/envios/nuevo").text) == ["150122"]
        assert "no está en la zona de cobertura" in _register(client, distrito="150101").text


def test_registering_redirects_to_the_tracking_page(portal: ZeusPortal, client: httpx.Client) -> None:
    response = _register(client)
    assert response.status_code == 303
    match = GUIA.match(response.headers["location"])
    assert match is not None
    guia = match[1]
    assert portal.shipments == [PortalShipment(account=USER, guia=guia, **VALID)]

    page = client.get(f"/envios/{guia}")
    assert page.status_code == 200
    assert "<h1>Envío registrado</h1>" in page.text
    assert f'<span id="codigo-guia">{guia}</span>' in page.text
    for value in ("Ana Quispe", "45678912", "Av. Arequipa 1234", "150122", "120.50", "Frente al parque"):
        assert value in page.text


def test_a_reference_already_registered_is_refused(portal: ZeusPortal, client: httpx.Client) -> None:
    assert _register(client).status_code == 303
    again = _register(client, destinatario="Otra Persona")
    assert again.status_code == 200
    assert '<div class="alerta-error" role="alert">La referencia ORD-1001 ya fue registrada</div>' in again.text
    assert len(portal.shipments) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"destinatario": ""}, "El campo destinatario es obligatorio"),
        ({"documento": "  "}, "El campo documento es obligatorio"),
        ({"referencia": ""}, "El campo referencia es obligatorio"),
        ({"distrito": "999999"}, "El distrito 999999 no está en la zona de cobertura"),
        ({"monto_cobrar": "120.5"}, "monto_cobrar"),
        ({"monto_cobrar": "120"}, "monto_cobrar"),
        ({"monto_cobrar": "-1.00"}, "monto_cobrar"),
        ({"direccion": "x" * 201}, "El campo direccion admite como máximo 200 caracteres"),
    ],
)
def test_invalid_shipments_show_the_form_with_an_alert(
    portal: ZeusPortal, client: httpx.Client, overrides: dict[str, str], message: str
) -> None:
    response = _register(client, **overrides)
    assert response.status_code == 200
    alert = re.search(r'<div class="alerta-error" role="alert">([^<]*)</div>', response.text)
    assert alert is not None and message in alert[1]
    assert 'id="form-envio"' in response.text
    assert portal.shipments == []


def test_nothing_to_collect_is_zero(portal: ZeusPortal, client: httpx.Client) -> None:
    assert _register(client, monto_cobrar="0.00").status_code == 303
    assert portal.shipments[0].monto_cobrar == "0.00"


def test_echoed_values_are_escaped(client: httpx.Client) -> None:
    response = _register(client, destinatario="<b>Ana</b>", distrito="")
    assert "&lt;b&gt;Ana&lt;/b&gt;" in response.text and "<b>Ana</b>" not in response.text
    search = client.get("/envios", params={"referencia": '"><script>'})
    assert "<script>" not in search.text


def test_accounts_see_only_their_own_shipments(portal_url: str, client: httpx.Client) -> None:
    guia = GUIA.match(_register(client).headers["location"])
    assert guia is not None
    with _signed_in(portal_url, "otra", "otra-clave") as other:
        assert 'id="sin-resultados"' in other.get("/envios", params={"referencia": "ORD-1001"}).text
        assert other.get(f"/envios/{guia[1]}").status_code == 404
        # The same reference is free in another account.
        assert _register(other).status_code == 303
    assert client.get("/envios/ZS00000000").status_code == 404


def test_broken_tracking_page_fails_after_the_shipment_is_registered(portal: ZeusPortal, client: httpx.Client) -> None:
    portal.break_tracking_page = True
    response = _register(client)
    assert response.status_code == 303
    broken = client.get(response.headers["location"])
    assert broken.status_code == 502 and "Error temporal" in broken.text
    assert len(portal.shipments) == 1
    assert 'class="envio"' in client.get("/envios", params={"referencia": "ORD-1001"}).text

    portal.break_tracking_page = False
    assert client.get(response.headers["location"]).status_code == 200


def test_delays_hold_answers_by_path_prefix_and_requests_are_logged(portal: ZeusPortal, portal_url: str) -> None:
    portal.delays["/login"] = 0.5
    with httpx.Client(base_url=portal_url, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/login")
        assert client.get("/panel").status_code == 303
    assert portal.requests[-2:] == [("GET", "/login"), ("GET", "/panel")]


# --- Chromium ---------------------------------------------------------------------------------


def test_find_chromium_honours_chromium_path_and_never_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMIUM_PATH", "/nonexistent/chromium")
    with pytest.raises(ChromiumMissing, match="CHROMIUM_PATH"):
        find_chromium()
    monkeypatch.setenv("CHROMIUM_PATH", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    if not os.access("/usr/bin/chromium", os.X_OK):
        with pytest.raises(ChromiumMissing, match="scripts/test"):
            find_chromium()


def test_launched_chromium_opens_devtools_and_closes_completely() -> None:
    chromium = launch_chromium()
    try:
        assert chromium.alive()
        assert chromium.ws_url.startswith(f"ws://127.0.0.1:{chromium.port}/devtools/browser/")
        version = httpx.get(f"{chromium.http_url}/json/version").json()
        assert version["webSocketDebuggerUrl"] == chromium.ws_url
    finally:
        chromium.close()
    assert not chromium.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(chromium.pid, 0)
    chromium.close()  # idempotent


# --- the fake Browserbase, through the real SDK and the CDP client ---------------------------------


@pytest.fixture
def fake_browserbase() -> Iterator[tuple[FakeBrowserbase, str]]:
    fake = FakeBrowserbase(api_key=API_KEY, project_id=PROJECT_ID)
    try:
        with serve(fake.app) as url:
            yield fake, url
    finally:
        fake.close()


def test_a_session_is_a_fresh_chromium_driven_over_cdp_and_released(
    fake_browserbase: tuple[FakeBrowserbase, str], portal: ZeusPortal, portal_url: str
) -> None:
    fake, url = fake_browserbase
    sdk = browserbase.Browserbase(api_key=API_KEY, base_url=url, max_retries=0)
    session = sdk.sessions.create(project_id=PROJECT_ID, api_timeout=300, user_metadata={"job": "test"})
    other = sdk.sessions.create(project_id=PROJECT_ID)
    assert session.status == RUNNING and session.project_id == PROJECT_ID
    assert session.expires_at > session.created_at and session.user_metadata == {"job": "test"}
    assert fake.running() == [session.id, other.id] and fake.create_requests == 2
    record = fake.sessions[session.id]
    assert record.sequence == 1 and record.user_metadata == {"job": "test"} and record.timeout == 300

    page = connect_page(session.connect_url, step_timeout=10)
    try:
        assert page.goto(f"{portal_url}/login") == 200
        page.fill("#form-login input[name=usuario]", USER)
        page.fill("#form-login input[name=clave]", PASSWORD)
        assert page.click_and_wait("#ingresar") == 200
        assert page.inner_text("#usuario-actual") == USER

        # The other session is another browser: it has no cookie, so it is sent to log in.
        other_page = connect_page(other.connect_url, step_timeout=10)
        try:
            other_page.goto(f"{portal_url}/panel")
            assert other_page.url == f"{portal_url}/login"
        finally:
            other_page.close()
    finally:
        page.close()

    pid = record.chromium.pid
    released = sdk.sessions.update(session.id, status="REQUEST_RELEASE")
    assert released.status == COMPLETED and released.ended_at is not None
    assert sdk.sessions.retrieve(session.id).status == COMPLETED
    assert fake.released() == [session.id] and fake.running() == [other.id]
    assert not record.chromium.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # Releasing again is harmless.
    assert sdk.sessions.update(session.id, status="REQUEST_RELEASE").status == COMPLETED


def test_the_sdk_sees_wrong_keys_projects_and_ids_and_injected_failures(
    fake_browserbase: tuple[FakeBrowserbase, str],
) -> None:
    fake, url = fake_browserbase
    with pytest.raises(browserbase.AuthenticationError):
        browserbase.Browserbase(api_key="bb_wrong", base_url=url, max_retries=0).sessions.create(project_id=PROJECT_ID)
    sdk = browserbase.Browserbase(api_key=API_KEY, base_url=url, max_retries=0)
    with pytest.raises(browserbase.NotFoundError):
        sdk.sessions.create(project_id="proj-other")
    with pytest.raises(browserbase.NotFoundError):
        sdk.sessions.retrieve("no-such-session")
    with pytest.raises(browserbase.NotFoundError):
        sdk.sessions.update("no-such-session", status="REQUEST_RELEASE")

    fake.fail_next_create = 503
    with pytest.raises(browserbase.InternalServerError):
        sdk.sessions.create(project_id=PROJECT_ID)
    assert fake.fail_next_create == 0
    assert fake.create_requests == 3 and fake.sessions == {}


def test_close_ends_every_running_browser(fake_browserbase: tuple[FakeBrowserbase, str]) -> None:
    fake, url = fake_browserbase
    session = browserbase.Browserbase(api_key=API_KEY, base_url=url).sessions.create(project_id=PROJECT_ID)
    chromium = fake.sessions[session.id].chromium
    assert chromium.alive()
    fake.close()
    assert not chromium.alive()
