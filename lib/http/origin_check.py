"""Refuse state-changing requests that a browser sent from a foreign origin (CSRF).

Browsers send `Origin` on every POST, PUT, PATCH and DELETE, and `Sec-Fetch-Site` on every
request; neither can be set by page script. A write is accepted when its Origin is this host or
one of ALLOWED_ORIGINS, or, when a browser sent no Origin, when Sec-Fetch-Site says it came from
this origin or from the user typing it. Requests with neither header are not from a browser page
and carry no ambient credentials a page could abuse; they pass here and face authentication.

As in django's CsrfViewMiddleware, the client gets one generic answer and the log gets the
precise reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from lib.http.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

REASON_NULL_ORIGIN = "Origin is 'null' (sandboxed frame, file: URL or privacy redirect)."
REASON_FOREIGN_ORIGIN = "Origin is neither this host nor in ALLOWED_ORIGINS."
REASON_CROSS_SITE_FETCH = "No Origin, and Sec-Fetch-Site says the request came from another site."

_log = logging.getLogger("zentro.security.csrf")


class OriginCheckMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed_origins = frozenset(origin.lower().rstrip("/") for origin in allowed_origins)
        if "*" in self.allowed_origins or "null" in self.allowed_origins:
            raise ValueError("allowed_origins must list real origins, not '*' or 'null'")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            reason = self._rejection_reason(Headers(scope=scope))
            if reason is not None:
                _log.warning(
                    "csrf_rejected",
                    extra={"reason": reason, "method": scope["method"], "path": scope["path"]},
                )
                raise ApiError("forbidden_origin", 403)
        await self.app(scope, receive, send)

    def _rejection_reason(self, headers: Headers) -> str | None:
        origin = headers.get("origin")
        if origin is not None:
            origin = origin.strip().lower().rstrip("/")
            if origin == "null":
                return REASON_NULL_ORIGIN
            if origin in self.allowed_origins:
                return None
            host = headers.get("host", "").lower()
            if host and urlsplit(origin).netloc == host:
                return None
            return REASON_FOREIGN_ORIGIN
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
            return REASON_CROSS_SITE_FETCH
        return None
