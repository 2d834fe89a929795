"""A local fake of the Zeus courier back office: the server-rendered pages Zentro's browser drives.

Zeus has no API, so lib/zeus/portal.py fills in its web forms over CDP. This fake serves
the same pages, with the same element ids and field names, so that code runs unchanged against
it in tests and in the dev server. The page contract (kept in step with lib/zeus/portal.py):

- `GET /login`: `form#form-login` (`usuario`, `clave`, `button#ingresar`); `POST /login` sets
  the `zeus_sesion` cookie and redirects (303) to `/panel`, or shows the login form again with
  `.alerta-error` "Usuario o clave incorrectos";
- every other page wants the cookie, else 303 to `/login`;
- `GET /panel`: `nav#menu` and `span#usuario-actual`;
- `GET /envios?referencia=X`: `form#form-buscar`, then `table#resultados` with one
  `tr.envio` (`td.referencia`, `td.guia`, `td.estado`) per shipment of the account with exactly
  that reference, or `p#sin-resultados`;
- `GET /envios/nuevo`: `form#form-envio` (`destinatario`, `documento`, `telefono`, `direccion`,
  `select distrito` of the served ubigeos, `monto_cobrar` as "120.50", `referencia`,
  `textarea indicaciones`, `button#registrar`); `POST /envios` validates on the server (a
  refusal is the form again with `.alerta-error`, a reference already registered in the account
  included), else registers the shipment under a new tracking code (`ZS` + 8 digits) and
  redirects (303) to its page;
- `GET /envios/{guia}`: `h1` "Envío registrado", `span#codigo-guia`; another account's or an
  unknown code -> 404.

Knobs for tests, plain attributes: `delays` (path prefix -> seconds to wait before answering,
the longest matching prefix wins: a portal that times out), `break_tracking_page` (the tracking
page answers 502 "Error temporal": the portal failing right after registering a shipment, before
its code could be read). Records: `shipments`, `requests` ((method, path) of every request).
No JavaScript: the pages are plain HTML forms.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

SESSION_COOKIE = "zeus_sesion"
DEFAULT_ACCOUNTS: Mapping[str, str] = {"demo": "demo-zeus-clave"}
# Lima province (Lima Metropolitana) and the Constitutional Province of Callao.
DEFAULT_DISTRICTS: tuple[str, ...] = tuple(f"1501{n:02d}" for n in range(1, 44)) + tuple(
    f"0701{n:02d}" for n in range(1, 8)
)
MAX_TEXT = 200  # what the portal's text fields accept
_AMOUNT = re.compile(r"^\d+\.\d{2}$")
_REQUIRED = ("destinatario", "documento", "telefono", "direccion", "distrito", "referencia")
_FIELDS = (
    "destinatario",
    "documento",
    "telefono",
    "direccion",
    "distrito",
    "monto_cobrar",
    "referencia",
    "indicaciones",
)
_LABELS = {
    "destinatario": "Destinatario",
    "documento": "Documento",
    "telefono": "Teléfono",
    "direccion": "Dirección",
    "distrito": "Distrito",
    "monto_cobrar": "Monto a cobrar (S/)",
    "referencia": "Referencia",
    "indicaciones": "Indicaciones",
}


@dataclass(frozen=True)
class PortalShipment:
    """A shipment registered on the portal, with every field as submitted."""

    account: str
    guia: str
    destinatario: str
    documento: str
    telefono: str
    direccion: str
    distrito: str
    monto_cobrar: str
    referencia: str
    indicaciones: str


class ZeusPortal:
    """The fake portal's state and pages. Serve `.app`; change the knobs between requests."""

    def __init__(self, accounts: Mapping[str, str] | None = None, districts: Iterable[str] | None = None) -> None:
        self.accounts: dict[str, str] = dict(DEFAULT_ACCOUNTS if accounts is None else accounts)
        self.districts: tuple[str, ...] = DEFAULT_DISTRICTS if districts is None else tuple(districts)
        self.shipments: list[PortalShipment] = []
        self.delays: dict[str, float] = {}
        self.break_tracking_page = False
        self.requests: list[tuple[str, str]] = []
        self._logins: dict[str, str] = {}  # session token -> username
        self._lock = threading.Lock()

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self._home, methods=["GET"]),
                Route("/login", self._login_form, methods=["GET"]),
                Route("/login", self._login, methods=["POST"]),
                Route("/panel", self._panel, methods=["GET"]),
                Route("/envios", self._search, methods=["GET"]),
                Route("/envios", self._register, methods=["POST"]),
                Route("/envios/nuevo", self._new_shipment_form, methods=["GET"]),
                Route("/envios/{guia}", self._tracking, methods=["GET"]),
            ]
        )

    # --- pages --------------------------------------------------------------------------------

    async def _home(self, request: Request) -> Response:
        await self._arrive(request)
        return _redirect("/panel" if self._user(request) else "/login")

    async def _login_form(self, request: Request) -> Response:
        await self._arrive(request)
        return _page("Ingreso", _login_body())

    async def _login(self, request: Request) -> Response:
        await self._arrive(request)
        form = await request.form()
        username, password = _text(form, "usuario"), _text(form, "clave")
        with self._lock:
            expected = self.accounts.get(username)
            if expected is None or not secrets.compare_digest(password.encode(), expected.encode()):
                return _page("Ingreso", _alert("Usuario o clave incorrectos") + _login_body(username))
            token = secrets.token_urlsafe(32)
            self._logins[token] = username
        response = _redirect("/panel")
        response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="lax")
        return response

    async def _panel(self, request: Request) -> Response:
        await self._arrive(request)
        user = self._user(request)
        if user is None:
            return _redirect("/login")
        return _page("Panel", f'{_menu()}<p>Bienvenido, <span id="usuario-actual">{_e(user)}</span></p>')

    async def _search(self, request: Request) -> Response:
        await self._arrive(request)
        user = self._user(request)
        if user is None:
            return _redirect("/login")
        reference = request.query_params.get("referencia")
        body = _menu() + _search_form(reference or "")
        if reference is not None:
            with self._lock:
                found = [s for s in self.shipments if s.account == user and s.referencia == reference]
            if found:
                rows = "".join(
                    f'<tr class="envio" data-referencia="{_e(s.referencia)}">'
                    f'<td class="referencia">{_e(s.referencia)}</td>'
                    f'<td class="guia"><a href="/envios/{_e(s.guia)}">{_e(s.guia)}</a></td>'
                    '<td class="estado">Registrado</td></tr>'
                    for s in found
                )
                body += (
                    '<table id="resultados"><thead><tr><th>Referencia</th><th>Guía</th><th>Estado</th></tr>'
                    f"</thead><tbody>{rows}</tbody></table>"
                )
            else:
                body += '<p id="sin-resultados">No se encontraron envíos</p>'
        return _page("Buscar envíos", body)

    async def _new_shipment_form(self, request: Request) -> Response:
        await self._arrive(request)
        user = self._user(request)
        if user is None:
            return _redirect("/login")
        return _page("Nuevo envío", _menu() + self._shipment_form({}))

    async def _register(self, request: Request) -> Response:
        await self._arrive(request)
        user = self._user(request)
        if user is None:
            return _redirect("/login")
        form = await request.form()
        values = {name: _text(form, name) for name in _FIELDS}
        problem = self._invalid(values)
        shipment: PortalShipment | None = None
        if problem is None:
            with self._lock:
                if any(s.account == user and s.referencia == values["referencia"] for s in self.shipments):
                    problem = f"La referencia {values['referencia']} ya fue registrada"
                else:
                    shipment = PortalShipment(account=user, guia=self._new_guia(), **values)
                    self.shipments.append(shipment)
        if shipment is None:
            return _page("Nuevo envío", _menu() + _alert(problem or "") + self._shipment_form(values))
        return _redirect(f"/envios/{shipment.guia}")

    async def _tracking(self, request: Request) -> Response:
        await self._arrive(request)
        user = self._user(request)
        if user is None:
            return _redirect("/login")
        if self.break_tracking_page:
            return _page("Error", "<h1>Error temporal</h1><p>Error temporal. Intente nuevamente.</p>", status=502)
        guia = request.path_params["guia"]
        with self._lock:
            shipment = next((s for s in self.shipments if s.guia == guia and s.account == user), None)
        if shipment is None:
            return _page("No encontrado", "<h1>Envío no encontrado</h1>", status=404)
        details = "".join(
            f'<dt>{_LABELS[name]}</dt><dd class="{name}">{_e(getattr(shipment, name))}</dd>' for name in _FIELDS
        )
        return _page(
            "Envío registrado",
            f"{_menu()}<h1>Envío registrado</h1>"
            f'<p>Guía: <span id="codigo-guia">{_e(shipment.guia)}</span></p>'
            f'<p>Estado: <span id="estado">Registrado</span></p><dl>{details}</dl>',
        )

    # --- mechanics ----------------------------------------------------------------------------

    async def _arrive(self, request: Request) -> None:
        """Log the request, then wait as long as `delays` says for its path."""
        path = request.url.path
        with self._lock:
            self.requests.append((request.method, path))
            matches = [prefix for prefix in self.delays if path.startswith(prefix)]
            delay = self.delays[max(matches, key=len)] if matches else 0.0
        if delay > 0:
            await asyncio.sleep(delay)

    def _user(self, request: Request) -> str | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        with self._lock:
            return self._logins.get(token)

    def _invalid(self, values: Mapping[str, str]) -> str | None:
        """The first problem with a submitted shipment, in Spanish, or None."""
        for name in _REQUIRED:
            if not values[name].strip():
                return f"El campo {name} es obligatorio"
        for name in _FIELDS:
            if len(values[name]) > MAX_TEXT:
                return f"El campo {name} admite como máximo {MAX_TEXT} caracteres"
        if values["distrito"] not in self.districts:
            return f"El distrito {values['distrito']} no está en la zona de cobertura"
        if not _AMOUNT.fullmatch(values["monto_cobrar"]):
            return "El campo monto_cobrar debe ser un monto con dos decimales, por ejemplo 120.50"
        return None

    def _new_guia(self) -> str:
        """A tracking code not yet used. Call with the lock held."""
        used = {s.guia for s in self.shipments}
        while True:
            guia = "ZS" + "".join(secrets.choice("0123456789") for _ in range(8))
            if guia not in used:
                return guia

    def _shipment_form(self, values: Mapping[str, str]) -> str:
        def text_input(name: str) -> str:
            return (
                f'<p><label>{_LABELS[name]} <input name="{name}" type="text" maxlength="{MAX_TEXT}" '
                f'value="{_e(values.get(name, ""))}"></label></p>'
            )

        chosen = values.get("distrito", "")
        options = "".join(
            f'<option value="{_e(d)}"{" selected" if d == chosen else ""}>Distrito {_e(d)}</option>'
            for d in self.districts
        )
        return (
            '<h1>Nuevo envío</h1><form id="form-envio" method="post" action="/envios">'
            + "".join(text_input(name) for name in ("destinatario", "documento", "telefono", "direccion"))
            + f'<p><label>{_LABELS["distrito"]} <select name="distrito">'
            f'<option value="">Seleccione</option>{options}</select></label></p>'
            f'<p><label>{_LABELS["monto_cobrar"]} <input name="monto_cobrar" type="text" '
            f'value="{_e(values.get("monto_cobrar", "0.00"))}"></label></p>'
            + text_input("referencia")
            + f'<p><label>{_LABELS["indicaciones"]} <textarea name="indicaciones" maxlength="{MAX_TEXT}">'
            f"{_e(values.get('indicaciones', ''))}</textarea></label></p>"
            '<button type="submit" id="registrar">Registrar envío</button></form>'
        )


def _login_body(username: str = "") -> str:
    return (
        '<h1>Zeus Courier - Ingreso</h1><form id="form-login" method="post" action="/login">'
        f'<p><label>Usuario <input name="usuario" type="text" value="{_e(username)}"></label></p>'
        '<p><label>Clave <input name="clave" type="password"></label></p>'
        '<button type="submit" id="ingresar">Ingresar</button></form>'
    )


def _menu() -> str:
    return '<nav id="menu"><a href="/envios/nuevo">Nuevo envío</a> <a href="/envios">Buscar envíos</a></nav>'


def _search_form(reference: str) -> str:
    return (
        '<h1>Buscar envíos</h1><form id="form-buscar" method="get" action="/envios">'
        f'<label>Referencia <input name="referencia" type="text" value="{_e(reference)}"></label> '
        '<button type="submit" id="buscar">Buscar</button></form>'
    )


def _alert(message: str) -> str:
    return f'<div class="alerta-error" role="alert">{_e(message)}</div>'


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    document = (
        '<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">'
        f"<title>{_e(title)} - Zeus Courier</title></head><body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status)


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _e(value: str) -> str:
    return html.escape(value, quote=True)
