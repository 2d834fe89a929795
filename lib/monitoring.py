"""Error monitoring with Sentry, sending nothing a merchant would not want to leave the building.

Sentry is initialised only when SENTRY_DSN is set, and `sentry_sdk` is imported only then (a
function without a DSN pays nothing at cold start). No integration is auto-enabled: the error
boundary in lib/http reports exceptions itself, so the SDK needs none of its framework hooks,
and stack-frame local variables are off (they held the raw Authorization header in every frame,
see PLATFORM-NOTES.md).

Scrubbing is belt and braces:
- the request section of an event keeps only the method, the path and a few harmless headers;
  cookies, bodies, query strings and every other header are dropped before sending;
- keys that name secrets or contact data are replaced wherever they occur (EventScrubber, with
  our denylist added);
- strings anywhere in the event (exception messages, breadcrumbs) have emails, phone-like
  numbers, bearer tokens and `password=...`-style pairs masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lib.config import Settings
from lib.redaction import SENSITIVE_KEYS, scrub

if TYPE_CHECKING:
    from sentry_sdk.transport import Transport

_log = logging.getLogger("zentro.monitoring")

# Request headers worth keeping for debugging; everything else is dropped.
_KEPT_HEADERS = frozenset({"accept", "accept-language", "content-type", "content-length", "x-request-id"})

_enabled = False
_tracing = False


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry `before_send`: reduce the request section, then mask strings everywhere."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        event["request"] = {
            "method": request.get("method"),
            "url": str(request.get("url", "")).split("?", 1)[0],
            "headers": {k: v for k, v in dict(headers).items() if k.lower() in _KEPT_HEADERS},
        }
    event.pop("user", None)
    scrubbed: dict[str, Any] = scrub(event)
    return scrubbed


def init_monitoring(settings: Settings, *, transport: Transport | Callable[..., Any] | None = None) -> bool:
    """Start Sentry if SENTRY_DSN is set. Returns whether monitoring is on. Idempotent."""
    global _enabled, _tracing
    if settings.sentry_dsn is None:
        return False
    if _enabled and transport is None:
        return True
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=settings.sentry_dsn.reveal(),
        environment=settings.environment,
        release=settings.release,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[],
        include_local_variables=False,
        include_source_context=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SENSITIVE_KEYS], recursive=True),
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        traces_sample_rate=settings.sentry_traces_sample_rate,
        transport=transport,
    )
    _enabled = True
    _tracing = settings.sentry_traces_sample_rate > 0
    return True


@contextmanager
def traced(method: str, route: str) -> Iterator[None]:
    """A Sentry performance transaction around one request, when tracing is on."""
    if not _tracing:
        yield
        return
    import sentry_sdk

    with sentry_sdk.start_transaction(op="http.server", name=f"{method} {route}", source="route"):
        yield


def report_exception(exc: BaseException, *, request_id: str | None, method: str, path: str) -> None:
    """Send an unexpected exception to Sentry (when on) and wait briefly for delivery.

    Serverless instances may freeze right after the response, so the event is flushed now
    rather than left to the SDK's background thread. Call it off the event loop.
    """
    if not _enabled:
        return
    import sentry_sdk

    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("request_id", request_id or "")
            scope.set_context("request", {"method": method, "path": path})
            sentry_sdk.capture_exception(exc)
        sentry_sdk.flush(timeout=2.0)
    except Exception:  # noqa: BLE001 - monitoring must never turn one error into two
        _log.warning("sentry_report_failed", exc_info=True)


def shutdown_monitoring() -> None:
    """Turn monitoring off again (tests)."""
    global _enabled, _tracing
    if _enabled:
        import sentry_sdk

        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
    _enabled = _tracing = False


_tracing = False
