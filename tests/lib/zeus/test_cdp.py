"""lib/zeus/cdp against a real Chromium and a real local site: what each step promises.

Chromium is required: nothing here skips when it is missing (launch_chromium raises)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from lib.zeus.cdp import CdpError, CdpTimeout, Page, connect_page
from scripts.standins.chromium import ChromiumProcess, launch_chromium
from tests.servers import serve

STEP = 2.0
HOSTILE = "O'Brien \"Ñandú\" \\ `${x}` </script><b>1</b> ');alert(1);(' \u2028 😀"

FORM = """<!doctype html><html><body>
<form id="f" method="post" action="/sent">
  <input name="who" id="who" value="prefilled">
  <textarea name="note" id="note"></textarea>
  <select name="district" id="district"><option value="">-</option><option value="150122">Miraflores</option></select>
  <button id="send" type="submit">Send</button>
  <button id="inert" type="button">Nothing</button>
</form>
<table><tr class="r"><td class="a">one</td><td class="b">1</td></tr><tr class="r"><td class="a">two</td></tr></table>
<p id="trusted">0</p>
<script>
  for (const id of ["who", "note"]) document.getElementById(id).addEventListener("input", e => {
    if (e.isTrusted) document.getElementById("trusted").textContent = String(Number(document.getElementById("trusted").textContent) + 1);
  });
</script>
</body></html>"""

received: dict[str, str] = {}


async def form(request: Request) -> Response:
    return HTMLResponse(FORM)


async def sent(request: Request) -> Response:
    received.clear()
    received.update({k: str(v) for k, v in (await request.form()).items()})
    return RedirectResponse("/done", status_code=303)


async def done(request: Request) -> Response:
    return HTMLResponse('<p id="ok">done</p>')


async def broken(request: Request) -> Response:
    return HTMLResponse("<p>down</p>", status_code=503)


async def hang(request: Request) -> Response:
    await asyncio.sleep(STEP * 5)
    return HTMLResponse("<p>late</p>")


SITE = Starlette(
    routes=[
        Route("/form", form),
        Route("/sent", sent, methods=["POST"]),
        Route("/done", done),
        Route("/broken", broken),
        Route("/hang", hang),
    ]
)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[ChromiumProcess]:
    with launch_chromium() as process:
        yield process


@pytest.fixture
def page(chromium: ChromiumProcess) -> Iterator[Page]:
    opened = connect_page(chromium.ws_url, step_timeout=STEP)
    try:
        yield opened
    finally:
        opened.close()


def test_goto_gives_the_documents_status_and_url(page: Page, site: str) -> None:
    assert page.goto(f"{site}/form") == 200
    assert page.url == f"{site}/form"
    assert page.goto(f"{site}/broken") == 503
    assert page.inner_text("p") == "down"
    assert page.goto(f"{site}/nowhere") == 404


def test_typing_is_trusted_input_and_reaches_the_server_exactly(page: Page, site: str) -> None:
    page.goto(f"{site}/form")
    page.fill("#who", HOSTILE)
    page.fill("#note", "línea")
    page.select("#district", "150122")
    assert int(page.inner_text("#trusted") or "0") >= 2  # the page saw real input events
    assert page.click_and_wait("#send") == 200  # the 303's destination
    assert page.url == f"{site}/done" and page.inner_text("#ok") == "done"
    assert received == {"who": HOSTILE, "note": "línea", "district": "150122"}


def test_filling_with_nothing_empties_the_field(page: Page, site: str) -> None:
    page.goto(f"{site}/form")
    page.fill("#who", "")
    page.click_and_wait("#send")
    assert received["who"] == ""


def test_a_missing_option_or_element_is_an_error(page: Page, site: str) -> None:
    page.goto(f"{site}/form")
    with pytest.raises(CdpError, match="no option"):
        page.select("#district", "999999")
    with pytest.raises(CdpTimeout):
        page.fill("#absent", "x")
    # A selector with quotes is passed as data, not code.
    assert page.count('input[name="who"]') == 1
    assert page.count("input[name='it\\'s']") == 0
    with pytest.raises(CdpError, match="page script failed"):
        page.count("input[[")  # not a selector: the page's own SyntaxError


def test_rows_read_each_column_inside_its_row(page: Page, site: str) -> None:
    page.goto(f"{site}/form")
    assert page.rows("tr.r", {"a": "td.a", "b": "td.b"}) == [{"a": "one", "b": "1"}, {"a": "two", "b": None}]
    assert page.inner_text("#none") is None and page.count("tr.r") == 2


def test_a_click_that_leads_nowhere_times_out_at_the_step_deadline(page: Page, site: str) -> None:
    page.goto(f"{site}/form")
    started = time.monotonic()
    with pytest.raises(CdpTimeout):
        page.click_and_wait("#inert")
    assert STEP <= time.monotonic() - started < STEP + 2


def test_a_server_that_never_answers_times_out_and_the_page_can_still_be_photographed(page: Page, site: str) -> None:
    page.goto(f"{site}/form")
    started = time.monotonic()
    with pytest.raises(CdpTimeout):
        page.goto(f"{site}/hang")
    assert time.monotonic() - started < STEP + 3
    png = page.screenshot()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    # The page is usable afterwards: the next navigation works.
    assert page.goto(f"{site}/done") == 200


def test_a_refused_connection_is_an_error_that_does_not_repeat_the_url(site: str) -> None:
    secret = "signingKey-" + base64.b32encode(b"not-a-real-key").decode()
    with pytest.raises(CdpError) as caught:
        connect_page(f"ws://127.0.0.1:9/devtools/browser/x?signingKey={secret}", step_timeout=STEP)
    assert secret not in str(caught.value)
    with pytest.raises(CdpError):
        connect_page(f"{site.replace('http', 'ws')}/form", step_timeout=STEP)  # not a DevTools endpoint


def test_a_closed_browser_is_an_error_not_a_hang(site: str) -> None:
    with launch_chromium() as process:
        opened = connect_page(process.ws_url, step_timeout=STEP)
        opened.goto(f"{site}/form")
        process.close()
        started = time.monotonic()
        with pytest.raises(CdpError):
            opened.goto(f"{site}/done")
        assert time.monotonic() - started < STEP + 1
        opened.close()
