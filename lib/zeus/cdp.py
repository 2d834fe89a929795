"""One Chromium page over the Chrome DevTools Protocol: the few steps the Zeus portal needs.

    page = connect_page(session.connect_url, step_timeout=15)
    try:
        status = page.goto("https://zeus.example/login")     # HTTP status of the document
        page.fill("#usuario", username)
        status = page.click_and_wait("#ingresar")           # clicks, waits for the next document
        page.count(".alerta-error"), page.inner_text("#codigo-guia"), page.screenshot()
    finally:
        page.close()

Why not Playwright: its Python package runs a bundled Node driver (143-168 MB installed), and a
Vercel Python bundle holds the whole requirements file in every function; with it, every function
passes the 225 MB mark past which Vercel installs packages at each cold start, and loses its
precompiled bytecode (README, "Zeus in the bundle" has the measurements). What the portal needs
is a dozen protocol commands, so this module speaks them itself over `websockets` (pure Python,
the well-kept WebSocket library) and costs the bundle about 1 MB.

How it drives the page (the choices Playwright makes too):

- one WebSocket to the browser endpoint (Browserbase's `connectUrl`, or Chromium's own); the
  browser's existing page is attached with `Target.attachToTarget(flatten=True)` (a new one is
  created only when there is none) and every page command carries that session id;
- a navigation is done when the new document's `DOMContentLoaded` lifecycle event arrives; its
  HTTP status is the main frame's `Document` response for the same loader id;
- typing is trusted input: the field is focused, its text selected, then `Input.insertText`, so the
  page sees the input events a person's typing makes; clicks are mouse presses at the element's
  centre after scrolling it into view; a <select> is set by value with `input`/`change` events;
- values reach page scripts only as JSON literals, never spliced into code as text;
- every step has a deadline (`step_timeout`); missing it raises `CdpTimeout`, and everything else
  that goes wrong (a closed socket, a protocol error, a missing element) raises `CdpError`.

Imported only by lib/zeus/browser.py, inside its function: no other function pays for it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

# A full-page PNG of a long page is a few MB as base64; this bounds what one message can be.
_MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_POLL_SECONDS = 0.05
# Screenshots are cut at this height: a page that grew without bound must not exhaust memory.
_MAX_SCREENSHOT_HEIGHT = 8000


class CdpError(Exception):
    """The browser closed, refused a command, or the page lacked what a step needed."""


class CdpTimeout(CdpError):
    """A step did not finish before its deadline."""


class _Connection:
    """Commands and events over one WebSocket: each command waits for the answer with its id, and
    every event read on the way is handed to `on_event`."""

    def __init__(self, socket: ClientConnection, on_event: Callable[[dict[str, Any]], None]) -> None:
        self._socket = socket
        self._on_event = on_event
        self._last_id = 0

    def command(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None, deadline: float
    ) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            self._socket.send(json.dumps(message))
        except ConnectionClosed:
            raise CdpError("the browser connection is closed") from None
        while True:
            answer = self.receive(deadline, waiting_for=method)
            if answer.get("id") == self._last_id:
                if "error" in answer:
                    error = answer["error"]
                    text = error.get("message", "") if isinstance(error, dict) else ""
                    raise CdpError(f"{method} failed: {text}"[:200])
                result = answer.get("result", {})
                return result if isinstance(result, dict) else {}
            if "method" in answer:
                self._on_event(answer)

    def receive(self, deadline: float, *, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CdpTimeout(f"timed out waiting for {waiting_for}")
        try:
            raw = self._socket.recv(timeout=remaining)
        except TimeoutError:
            raise CdpTimeout(f"timed out waiting for {waiting_for}") from None
        except ConnectionClosed:
            raise CdpError("the browser connection is closed") from None
        try:
            message = json.loads(raw)
        except ValueError:
            raise CdpError("the browser sent a message that is not JSON") from None
        return message if isinstance(message, dict) else {}

    def close(self) -> None:
        self._socket.close()


class Page:
    """The browser's page, attached over one connection. Not thread-safe; one job uses it."""

    def __init__(self, socket: ClientConnection, *, step_timeout: float) -> None:
        self.step_timeout = step_timeout
        self._connection = _Connection(socket, self._observe)
        self._session: str | None = None
        self._frame_id = ""
        self._loader_id = ""  # the document the main frame shows now
        self._loaded: set[str] = set()  # loader ids whose DOMContentLoaded has fired
        self._statuses: dict[str, int] = {}  # loader id -> HTTP status of its document
        self._crashed = False
        self.url = "about:blank"

    # --- setting up --------------------------------------------------------------------------

    def _attach(self) -> None:
        try:
            self._attach_steps(self._deadline())
        except (KeyError, TypeError, IndexError):
            raise CdpError("the browser answered the set-up in an unexpected shape") from None

    def _attach_steps(self, deadline: float) -> None:
        targets = self._browser("Target.getTargets", deadline=deadline).get("targetInfos", [])
        pages = [t["targetId"] for t in targets if t.get("type") == "page" and t.get("targetId")]
        target = (
            pages[0]
            if pages
            else self._browser("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
        )
        self._session = self._browser(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, deadline=deadline
        )["sessionId"]
        self._send("Inspector.enable", deadline=deadline)
        self._send("Page.enable", deadline=deadline)
        self._send("Page.setLifecycleEventsEnabled", {"enabled": True}, deadline=deadline)
        self._send("Network.enable", deadline=deadline)
        frame = self._send("Page.getFrameTree", deadline=deadline)["frameTree"]["frame"]
        self._frame_id, self._loader_id, self.url = frame["id"], frame["loaderId"], frame["url"]
        self._loaded.add(self._loader_id)

    # --- steps -------------------------------------------------------------------------------

    def goto(self, url: str) -> int:
        """Open `url` in the page; the document's HTTP status once its DOM is ready."""
        deadline = self._deadline()
        try:
            result = self._send("Page.navigate", {"url": url, "frameId": self._frame_id}, deadline=deadline)
        except CdpTimeout:
            self._stop_loading()
            raise
        if result.get("errorText"):
            raise CdpError(f"navigation failed: {result['errorText']}")
        loader = result.get("loaderId")
        if not loader:  # a same-document navigation (#fragment): nothing to wait for
            return self._statuses.get(self._loader_id, 0)
        self._wait_for_navigation(lambda: loader in self._loaded, deadline)
        return self._statuses.get(loader, 0)

    def click_and_wait(self, selector: str) -> int:
        """Click the element and wait for the document the click leads to; its HTTP status."""
        deadline = self._deadline()
        before = self._loader_id
        self._click(selector, deadline)
        self._wait_for_navigation(lambda: self._loader_id != before and self._loader_id in self._loaded, deadline)
        return self._statuses.get(self._loader_id, 0)

    def fill(self, selector: str, text: str) -> None:
        """Replace the field's text with `text`, typed as trusted input."""
        deadline = self._deadline()
        self._wait_for_element(selector, deadline)
        found = self._call(
            "(s) => { const e = document.querySelector(s); if (!e) return false;"
            " e.focus(); if (typeof e.select === 'function') e.select(); return true; }",
            selector,
            deadline=deadline,
        )
        if not found:
            raise CdpError(f"no element {selector}")
        if text:
            self._send("Input.insertText", {"text": text}, deadline=deadline)
        else:
            self._call(
                "(s) => { const e = document.querySelector(s); e.value = '';"
                " e.dispatchEvent(new Event('input', {bubbles: true})); }",
                selector,
                deadline=deadline,
            )
        if self._call("(s) => document.querySelector(s).value", selector, deadline=deadline) != text:
            raise CdpError(f"{selector} did not take the text")

    def select(self, selector: str, value: str) -> None:
        """Choose the <select>'s option with this value."""
        deadline = self._deadline()
        self._wait_for_element(selector, deadline)
        chosen = self._call(
            "(s, v) => { const e = document.querySelector(s);"
            " if (!e || !Array.from(e.options || []).some(o => o.value === v)) return false;"
            " e.value = v; e.dispatchEvent(new Event('input', {bubbles: true}));"
            " e.dispatchEvent(new Event('change', {bubbles: true})); return true; }",
            selector,
            value,
            deadline=deadline,
        )
        if not chosen:
            raise CdpError(f"no option {value!r} in {selector}")

    def count(self, selector: str) -> int:
        return int(self._call("(s) => document.querySelectorAll(s).length", selector, deadline=self._deadline()))

    def inner_text(self, selector: str) -> str | None:
        """The rendered text of the first match, None when nothing matches."""
        text = self._call(
            "(s) => { const e = document.querySelector(s); return e ? e.innerText : null; }",
            selector,
            deadline=self._deadline(),
        )
        return text if isinstance(text, str) else None

    def rows(self, row_selector: str, columns: dict[str, str]) -> list[dict[str, str | None]]:
        """For every element matching `row_selector`, the text of each column's first match inside it."""
        rows = self._call(
            "(r, cols) => Array.from(document.querySelectorAll(r), row => Object.fromEntries("
            "Object.entries(cols).map(([k, s]) => {"
            " const e = row.querySelector(s); return [k, e ? e.innerText : null]; })))",
            row_selector,
            columns,
            deadline=self._deadline(),
        )
        return rows if isinstance(rows, list) else []

    def wait_for(self, selector: str) -> None:
        """Until something matches `selector` (a list such as "#a, #b" waits for either)."""
        self._wait_for_element(selector, self._deadline())

    def screenshot(self) -> bytes:
        """A PNG of the whole page (up to 8000 CSS pixels tall)."""
        deadline = self._deadline()
        metrics = self._send("Page.getLayoutMetrics", deadline=deadline)
        size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
        width = max(1, int(size.get("width", 800)))
        height = max(1, min(int(size.get("height", 600)), _MAX_SCREENSHOT_HEIGHT))
        shot = self._send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
            deadline=deadline,
        )
        return base64.b64decode(shot["data"])

    # --- mechanics ---------------------------------------------------------------------------

    def _deadline(self) -> float:
        return time.monotonic() + self.step_timeout

    def _browser(self, method: str, params: dict[str, Any] | None = None, *, deadline: float) -> dict[str, Any]:
        return self._connection.command(method, params, session=None, deadline=deadline)

    def _send(self, method: str, params: dict[str, Any] | None = None, *, deadline: float) -> dict[str, Any]:
        if self._crashed:
            raise CdpError("the page crashed")
        return self._connection.command(method, params, session=self._session, deadline=deadline)

    def _call(self, function: str, *arguments: object, deadline: float) -> Any:
        """Run a JavaScript function in the page with JSON arguments; its JSON-able result."""
        literal_arguments = ", ".join(json.dumps(argument) for argument in arguments)
        result = self._send(
            "Runtime.evaluate",
            {"expression": f"({function})({literal_arguments})", "returnByValue": True},
            deadline=deadline,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            raise CdpError(f"page script failed: {str(text).splitlines()[0] if text else ''}"[:200])
        return result.get("result", {}).get("value")

    def _click(self, selector: str, deadline: float) -> None:
        self._wait_for_element(selector, deadline)
        point = self._call(
            "(s) => { const e = document.querySelector(s); if (!e) return null;"
            " e.scrollIntoView({block: 'center', inline: 'center'}); const r = e.getBoundingClientRect();"
            " return r.width > 0 && r.height > 0 ? [r.left + r.width / 2, r.top + r.height / 2] : null; }",
            selector,
            deadline=deadline,
        )
        if not point:
            raise CdpError(f"{selector} is not visible")
        x, y = point
        for kind in ("mousePressed", "mouseReleased"):
            self._send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1},
                deadline=deadline,
            )

    def _wait_for_element(self, selector: str, deadline: float) -> None:
        while not self._call("(s) => document.querySelector(s) !== null", selector, deadline=deadline):
            if time.monotonic() + _POLL_SECONDS >= deadline:
                raise CdpTimeout(f"timed out waiting for {selector}")
            self._pause(_POLL_SECONDS, deadline)

    def _pause(self, seconds: float, deadline: float) -> None:
        """Sleep while still reading events (navigations keep their state current)."""
        until = min(time.monotonic() + seconds, deadline)
        try:
            while True:
                self._observe(self._connection.receive(until, waiting_for="a pause"))
        except CdpTimeout:
            return

    def _wait_for_navigation(self, done: Callable[[], bool], deadline: float) -> None:
        try:
            self._wait(done, deadline, "the page to load")
        except CdpTimeout:
            self._stop_loading()
            raise

    def _stop_loading(self) -> None:
        """After a navigation that timed out: stop it, so the page answers the next step (a
        screenshot of what the browser shows) instead of waiting on the same server."""
        with suppress(CdpError):
            self._send("Page.stopLoading", deadline=time.monotonic() + 2)

    def _wait(self, done: Callable[[], bool], deadline: float, what: str) -> None:
        while not done():
            if self._crashed:
                raise CdpError("the page crashed")
            self._observe(self._connection.receive(deadline, waiting_for=what))

    def _observe(self, event: dict[str, Any]) -> None:
        """Keep the main frame's state: which document it shows, which are loaded, their statuses."""
        method, params = event.get("method"), event.get("params") or {}
        if method == "Target.detachedFromTarget" and params.get("sessionId") == self._session:
            self._crashed = True  # the page closed under us
        if self._session is None or event.get("sessionId") != self._session:
            return  # the browser's own events, or another target's
        if method == "Page.lifecycleEvent" and params.get("frameId") == self._frame_id:
            if params.get("name") == "init":
                self._loader_id = params.get("loaderId", self._loader_id)
            elif params.get("name") == "DOMContentLoaded":
                self._loaded.add(params.get("loaderId", ""))
        elif method == "Page.frameNavigated":
            frame = params.get("frame") or {}
            if frame.get("id") == self._frame_id:
                self._loader_id, self.url = frame.get("loaderId", self._loader_id), frame.get("url", self.url)
        elif method == "Network.responseReceived" and params.get("type") == "Document":
            if params.get("frameId") == self._frame_id:
                self._statuses[params.get("loaderId", "")] = int(params.get("response", {}).get("status", 0))
        elif method == "Inspector.targetCrashed":
            self._crashed = True

    def close(self) -> None:
        self._connection.close()


def connect_page(url: str, *, step_timeout: float) -> Page:
    """The browser's page at this DevTools WebSocket URL, attached; the caller closes it.

    The URL may carry a credential (Browserbase's signing key): no error raised here includes it.
    """
    try:
        socket = connect(
            url,
            open_timeout=step_timeout,
            max_size=_MAX_MESSAGE_BYTES,
            compression=None,
            proxy=None,
            ping_interval=None,
            close_timeout=2,
            legacy=True,  # a connection we close ourselves (Page.close), not a context manager
        )
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
        raise CdpError(f"could not connect to the browser: {type(error).__name__}") from None
    page = Page(socket, step_timeout=step_timeout)
    try:
        page._attach()
    except BaseException:
        page.close()
        raise
    return page


__all__ = ["CdpError", "CdpTimeout", "Page", "connect_page"]
