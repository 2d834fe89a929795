"""A browser for one job: a Browserbase session driven by Playwright over CDP, always released.

`portal_page(...)` opens a session with the official SDK, connects Playwright to it over CDP and
yields a page whose every step times out after ZEUS_STEP_TIMEOUT_SECONDS. Whatever happens inside,
the Playwright connection is closed and the session is released (`REQUEST_RELEASE`), so a failed
job never leaves a browser running and billing; the session is also created with a hard timeout,
so one whose release call failed ends by itself.

The SDK (pydantic, httpx) and Playwright (a Node driver process) are imported here, inside the
function, and nowhere at module level: only the Zeus cron and the integration test route pay for
them. They are development dependencies for now: Playwright does not fit Vercel's bundle (README,
"Zeus and the bundle limit"), and where it is missing every Zeus job waits, queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lib.config import Settings
from lib.zeus.portal import PortalError

if TYPE_CHECKING:
    from playwright.sync_api import Page

_log = logging.getLogger("zeus.browser")

# The session ends by itself after this, even if nothing releases it (Browserbase's minimum is 60).
SESSION_TIMEOUT_SECONDS = 300
_API_TIMEOUT_SECONDS = 20.0


class BrowserUnavailable(Exception):
    """No browser could be had (Browserbase down, or the CDP connection failed): retry later."""


class BrowserNotConfigured(Exception):
    """The Browserbase credentials are missing or rejected: no Zeus job can run until fixed."""


@contextmanager
def portal_page(settings: Settings, *, metadata: Mapping[str, str]) -> Iterator[Page]:
    """A fresh browser page in a new Browserbase session, released on every path."""
    try:
        import browserbase
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        # Deployed bundles leave Playwright out for now (README, "Zeus and the bundle limit").
        raise BrowserNotConfigured("playwright and browserbase are not installed here") from None

    if settings.browserbase_api_key is None or settings.browserbase_project_id is None:
        raise BrowserNotConfigured("BROWSERBASE_API_KEY and BROWSERBASE_PROJECT_ID are not set")
    client = browserbase.Browserbase(
        api_key=settings.browserbase_api_key.reveal(),
        base_url=settings.browserbase_base_url,
        timeout=_API_TIMEOUT_SECONDS,
        max_retries=1,
    )
    try:
        session = client.sessions.create(
            project_id=settings.browserbase_project_id,
            api_timeout=SESSION_TIMEOUT_SECONDS,
            user_metadata=dict(metadata),
        )
    except (browserbase.AuthenticationError, browserbase.PermissionDeniedError):
        raise BrowserNotConfigured("Browserbase refused the API key") from None
    except browserbase.APIError as error:
        raise BrowserUnavailable(f"Browserbase session not created: {type(error).__name__}") from None
    timeout_ms = settings.zeus_step_timeout_seconds * 1000
    try:
        playwright = sync_playwright().start()
        try:
            try:
                browser = playwright.chromium.connect_over_cdp(session.connect_url, timeout=timeout_ms)
            except PlaywrightError as error:
                raise BrowserUnavailable(f"CDP connection failed: {type(error).__name__}") from None
            try:
                context = browser.contexts[0] if browser.contexts else browser.new_context()
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(timeout_ms)
                page.set_default_navigation_timeout(timeout_ms)
                yield page
            finally:
                _quietly(browser.close, "browser_close_failed")
        finally:
            _quietly(playwright.stop, "playwright_stop_failed")
    finally:
        try:
            client.sessions.update(session.id, status="REQUEST_RELEASE", project_id=settings.browserbase_project_id)
        except browserbase.APIError as error:
            # It still ends at its timeout; the log says which one to look for.
            _log.error("browserbase_release_failed", extra={"session_id": session.id, "error": type(error).__name__})


def _quietly(action: Callable[[], object], event: str) -> None:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - cleanup must not hide the job's own outcome
        _log.warning(event, extra={"error": type(error).__name__})


__all__ = ["BrowserNotConfigured", "BrowserUnavailable", "PortalError", "portal_page"]
