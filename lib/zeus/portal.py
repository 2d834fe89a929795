"""The Zeus courier back office, page by page: every URL, selector and field name, and the steps.

Zeus has no API; Zentro drives its web pages over the DevTools protocol (lib/zeus/cdp.py).
Everything this code knows about those pages is in this module, so when the portal changes, this
is the one file to change (and scripts/standins/zeus_portal.py, the local stand-in the tests run
against).

The steps, each bounded by the page's default timeout (ZEUS_STEP_TIMEOUT_SECONDS):

- `log_in`: the login form; a rejection banner is a permanent failure (wrong credentials will not
  become right by retrying), no answer in time is a transient one;
- `find_shipment`: the search by the merchant's reference, so a shipment registered by an
  earlier attempt (whose tracking code never reached our database) is found, not registered twice;
- `submit_shipment`: the new-shipment form, then the tracking code from the page it leads to.

Failures are `PortalError(problem, permanent)`: the problem is a code from lib/zeus/problems.py,
the detail is the portal's own message when it gave one. The page type is imported for type
checking only, so importing this module costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from lib.zeus.cdp import Page

# --- pages and elements -------------------------------------------------------------------------

LOGIN_PATH = "/login"
LOGIN_USERNAME = "#form-login input[name=usuario]"
LOGIN_PASSWORD = "#form-login input[name=clave]"  # noqa: S105 - a selector
LOGIN_SUBMIT = "#ingresar"
LOGGED_IN = "#usuario-actual"
ERROR_BANNER = ".alerta-error"

SEARCH_PATH = "/envios"
SEARCH_PARAMETER = "referencia"
SEARCH_RESULTS = "#resultados"
SEARCH_EMPTY = "#sin-resultados"
SEARCH_ROW = "tr.envio"
SEARCH_ROW_REFERENCE = "td.referencia"
SEARCH_ROW_TRACKING = "td.guia"

NEW_SHIPMENT_PATH = "/envios/nuevo"
SHIPMENT_FORM = "#form-envio"
FIELD_RECIPIENT = "#form-envio input[name=destinatario]"
FIELD_DOCUMENT = "#form-envio input[name=documento]"
FIELD_PHONE = "#form-envio input[name=telefono]"
FIELD_ADDRESS = "#form-envio input[name=direccion]"
FIELD_DISTRICT = "#form-envio select[name=distrito]"
FIELD_COLLECT = "#form-envio input[name=monto_cobrar]"
FIELD_REFERENCE = "#form-envio input[name=referencia]"
FIELD_DIRECTIONS = "#form-envio textarea[name=indicaciones]"
SHIPMENT_SUBMIT = "#registrar"

TRACKING_CODE = "#codigo-guia"
TRACKING_CODE_SHAPE = re.compile(r"[A-Za-z0-9-]{1,40}")

# Field limits the portal's form accepts; longer values are cut here rather than refused there.
_MAX_TEXT = 200


# --- what the steps take and raise -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    portal_url: str
    username: str
    password: str = field(repr=False)

    def url(self, path: str, **query: str) -> str:
        return self.portal_url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")


@dataclass(frozen=True, slots=True)
class ShipmentForm:
    """What the portal's new-shipment form asks for, from the order."""

    reference: str  # the order code: the merchant's reference, searchable on the portal
    recipient: str
    document: str
    phone: str
    address_line: str
    ubigeo: str
    collect_cents: int  # amount the courier collects on delivery, 0 when prepaid
    directions: str  # the address reference ("frente al parque")

    @property
    def collect_text(self) -> str:
        return f"{self.collect_cents // 100}.{self.collect_cents % 100:02d}"


class PortalError(Exception):
    """A step did not succeed. `permanent`: retrying the same request cannot help."""

    def __init__(self, problem: str, *, permanent: bool, detail: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.permanent = permanent
        self.detail = detail[:300]


# --- steps -----------------------------------------------------------------------------------


def register_shipment(page: Page, credentials: Credentials, shipment: ShipmentForm) -> str:
    """Log in, then return the tracking code of the shipment with this reference: the one already
    on the portal if an earlier attempt registered it, else a new one."""
    with _translated_errors(page):
        log_in(page, credentials)
        existing = find_shipment(page, credentials, shipment.reference)
        if existing is not None:
            return existing
        return submit_shipment(page, credentials, shipment)


def check_login(page: Page, credentials: Credentials) -> None:
    """Whether the credentials open the portal (an ADMIN's "test" of the integration)."""
    with _translated_errors(page):
        log_in(page, credentials)


def log_in(page: Page, credentials: Credentials) -> None:
    _open(page, credentials.url(LOGIN_PATH))
    if page.count(LOGIN_USERNAME) == 0:
        raise PortalError("zeus_page_unrecognised", permanent=True, detail="login form not found")
    page.fill(LOGIN_USERNAME, credentials.username)
    page.fill(LOGIN_PASSWORD, credentials.password)
    _submit(page, LOGIN_SUBMIT)
    if page.count(LOGGED_IN) > 0:
        return
    banner = _banner(page)
    if banner is not None:
        raise PortalError("zeus_login_rejected", permanent=True, detail=banner)
    raise PortalError("zeus_page_unrecognised", permanent=True, detail="no sign of a signed-in page")


def find_shipment(page: Page, credentials: Credentials, reference: str) -> str | None:
    """The tracking code of the shipment registered under `reference`, or None."""
    _open(page, credentials.url(SEARCH_PATH, **{SEARCH_PARAMETER: reference}))
    page.wait_for(f"{SEARCH_RESULTS}, {SEARCH_EMPTY}")
    for row in page.rows(SEARCH_ROW, {"reference": SEARCH_ROW_REFERENCE, "tracking": SEARCH_ROW_TRACKING}):
        if (row["reference"] or "").strip() == reference:
            return _tracking_code(row["tracking"] or "")
    return None


def submit_shipment(page: Page, credentials: Credentials, shipment: ShipmentForm) -> str:
    _open(page, credentials.url(NEW_SHIPMENT_PATH))
    if page.count(SHIPMENT_FORM) == 0:
        raise PortalError("zeus_page_unrecognised", permanent=True, detail="shipment form not found")
    if page.count(f'{FIELD_DISTRICT} option[value="{shipment.ubigeo}"]') == 0:
        raise PortalError("zeus_district_not_served", permanent=True, detail=shipment.ubigeo)
    page.fill(FIELD_RECIPIENT, shipment.recipient[:_MAX_TEXT])
    page.fill(FIELD_DOCUMENT, shipment.document)
    page.fill(FIELD_PHONE, shipment.phone)
    page.fill(FIELD_ADDRESS, shipment.address_line[:_MAX_TEXT])
    page.select(FIELD_DISTRICT, shipment.ubigeo)
    page.fill(FIELD_COLLECT, shipment.collect_text)
    page.fill(FIELD_REFERENCE, shipment.reference)
    page.fill(FIELD_DIRECTIONS, shipment.directions[:_MAX_TEXT])
    status = _submit(page, SHIPMENT_SUBMIT)
    tracking = page.inner_text(TRACKING_CODE)
    if tracking is not None:
        return _tracking_code(tracking)
    banner = _banner(page)
    if banner is not None:
        # Refused. If it was refused because the reference exists (an attempt we lost track of
        # registered it meanwhile), the search finds it; otherwise a person must look.
        existing = find_shipment(page, credentials, shipment.reference)
        if existing is not None:
            return existing
        raise PortalError("zeus_shipment_refused", permanent=True, detail=banner)
    # Submitted, but no tracking page: the shipment may exist. Transient: the next attempt's
    # search finds it, or registers it if it does not.
    raise PortalError("zeus_no_tracking_code", permanent=False, detail=f"HTTP {status}")


# --- page mechanics --------------------------------------------------------------------------


@contextmanager
def _translated_errors(page: Page) -> Iterator[None]:
    """Any browser failure left over by a step (an element that never appeared) as a PortalError."""
    from lib.zeus.cdp import CdpError, CdpTimeout

    try:
        yield
    except CdpTimeout:
        raise PortalError("zeus_timeout", permanent=False, detail=_path(page.url)) from None
    except CdpError as error:
        raise PortalError("zeus_unavailable", permanent=False, detail=_first_line(error)) from None


def _open(page: Page, url: str) -> None:
    from lib.zeus.cdp import CdpError, CdpTimeout

    try:
        status = page.goto(url)
    except CdpTimeout:
        raise PortalError("zeus_timeout", permanent=False, detail=_path(url)) from None
    except CdpError as error:
        raise PortalError("zeus_unavailable", permanent=False, detail=_first_line(error)) from None
    _check_status(status, url)


def _submit(page: Page, button: str) -> int:
    """Click the form's button and wait for the page it leads to; that page's HTTP status."""
    from lib.zeus.cdp import CdpError, CdpTimeout

    try:
        return page.click_and_wait(button)
    except CdpTimeout:
        raise PortalError("zeus_timeout", permanent=False, detail=_path(page.url)) from None
    except CdpError as error:
        raise PortalError("zeus_unavailable", permanent=False, detail=_first_line(error)) from None


def _check_status(status: int, url: str) -> None:
    if status >= 500:
        raise PortalError("zeus_unavailable", permanent=False, detail=f"HTTP {status} {_path(url)}")
    if status in (404, 410):
        raise PortalError("zeus_page_unrecognised", permanent=True, detail=f"HTTP {status} {_path(url)}")


def _banner(page: Page) -> str | None:
    text = page.inner_text(ERROR_BANNER)
    if text is None:
        return None
    return " ".join(text.split())[:300]


def _tracking_code(raw: str) -> str:
    code = raw.strip()
    if not TRACKING_CODE_SHAPE.fullmatch(code):
        raise PortalError("zeus_page_unrecognised", permanent=True, detail="tracking code not recognised")
    return code


def _path(url: str) -> str:
    """A URL's path, for messages: never its query (a reference) or host."""
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
