"""A browser for one job: a Browserbase session driven over CDP, always released.

`portal_page(...)` opens a session with the official SDK, connects to it over the DevTools
protocol (lib/zeus/cdp.py) and yields its page, every step of which times out after
ZEUS_STEP_TIMEOUT_SECONDS. Whatever happens inside, the connection is closed and the session is
released (`REQUEST_RELEASE`), so a failed job never leaves a browser running and billing; the
session is also created with a hard timeout, so one whose release call failed ends by itself.

The SDK (pydantic, httpx) and the CDP client (websockets) are imported here, inside the function,
and nowhere at module level: only the Zeus cron and the integration test route pay for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lib.config import Settings
from lib.zeus.portal import PortalError

if TYPE_CHECKING:
    from lib.zeus.cdp import Page

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
    """A browser page in a new Browserbase session, released on every path."""
    import browserbase

    from lib.zeus.cdp import CdpError, connect_page

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
    try:
        try:
            page = connect_page(session.connect_url, step_timeout=settings.zeus_step_timeout_seconds)
        except CdpError as error:
            raise BrowserUnavailable(f"CDP connection failed: {error}") from None
        try:
            yield page
        finally:
            _quietly(page.close, "browser_close_failed")
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
