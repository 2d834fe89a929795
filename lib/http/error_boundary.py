"""Turn every exception into the one error shape, and report the unexpected ones.

`ApiError` is rendered as is. A database that cannot be reached or dropped the connection
(lib/db/failures: `unavailable`) is 503 `service_unavailable` with Retry-After: an outage, not a
bug, so it is counted in the log (`database_unavailable`) and not sent to Sentry. A transaction
that kept losing to deadlocks after its retries (`conflict`) is 503 too, and reported: it points
at a lock order to fix. Anything else is a bug: it is logged with its traceback (through the
redacting formatter), reported to Sentry, and the client gets a generic 500 with the request id
and nothing of the exception. If the response had already started there is nothing left to tell
the client; the error is still logged and reported.
"""

from __future__ import annotations

import functools
import logging

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lib.db.failures import failure_kind
from lib.http.errors import INTERNAL_ERROR, ApiError, render_error, service_unavailable
from lib.http.request_context import request_language, request_meta
from lib.monitoring import report_exception

_log = logging.getLogger("zentro.http")

# How long a client should wait before trying again: a restart or a failover takes seconds.
UNAVAILABLE_RETRY_AFTER = 5
CONFLICT_RETRY_AFTER = 1


async def send_error(scope: Scope, send: Send, error: ApiError) -> None:
    body = render_error(error, request_id=request_meta(scope).request_id, language=request_language(scope))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})


class ErrorBoundaryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ApiError as error:
            if started:
                _log.error("api_error_after_response_started", extra={"code": error.code})
                return
            await send_error(scope, send, error)
        except Exception as exc:  # noqa: BLE001 - this is the boundary: nothing may escape it
            kind = failure_kind(exc)
            if kind == "unavailable":
                _log.warning(
                    "database_unavailable",
                    extra={"method": scope["method"], "path": scope["path"], "error": type(exc).__name__},
                )
                if not started:
                    await send_error(scope, send, service_unavailable(UNAVAILABLE_RETRY_AFTER))
                return
            _log.exception("unhandled_exception", extra={"method": scope["method"], "path": scope["path"]})
            report = functools.partial(
                report_exception,
                exc,
                request_id=request_meta(scope).request_id,
                method=scope["method"],
                path=scope["path"],
            )
            await anyio.to_thread.run_sync(report)
            if not started:
                await send_error(
                    scope, send, service_unavailable(CONFLICT_RETRY_AFTER) if kind == "conflict" else INTERNAL_ERROR
                )
