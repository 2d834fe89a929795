"""Refuse state-changing requests that a browser sent from a foreign origin (CSRF).

Browsers send `Origin` on every POST, PUT, PATCH and DELETE, and `Sec-Fetch-Site` on every
request; neither can be set by page script. A write is accepted when its Origin is this request's
own origin (scheme, host and port) or one of ALLOWED_ORIGINS, or, when a browser sent no Origin,
when Sec-Fetch-Site says it came from this origin or from the user typing it. The scheme is the
ASGI scope's unless `public_scheme` names the one browsers use (behind Vercel every request reached
the edge over https, so `http://host` is another origin even though the function sees http).
Requests with neither header are not from a browser page and carry no ambient credentials a page
could abuse; they pass here and face authentication.

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
REASON_FOREIGN_ORIGIN = "Origin is neither this origin (scheme, host and port) nor in ALLOWED_ORIGINS."
REASON_CROSS_SITE_FETCH = "No Origin, and Sec-Fetch-Site says the request came from another site."

_log = logging.getLogger("zentro.security.csrf")


class OriginCheckMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str], public_scheme: str | None = None) -> None:
        self.app = app
        self.allowed_origins = frozenset(origin.lower().rstrip("/") for origin in allowed_origins)
        if "*" in self.allowed_origins or "null" in self.allowed_origins:
            raise ValueError("allowed_origins must list real origins, not '*' or 'null'")
        if public_scheme not in (None, "http", "https"):
            raise ValueError("public_scheme must be 'http', 'https' or None (the ASGI scope's)")
        self.public_scheme = public_scheme

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            own_scheme = self.public_scheme or str(scope.get("scheme", "http"))
            reason = self._rejection_reason(Headers(scope=scope), own_scheme)
            if reason is not None:
                _log.warning(
                    "csrf_rejected",
                    extra={"reason": reason, "method": scope["method"], "path": scope["path"]},
                )
                raise ApiError("forbidden_origin", 403)
        await self.app(scope, receive, send)

    def _rejection_reason(self, headers: Headers, own_scheme: str) -> str | None:
        origin = headers.get("origin")
        if origin is not None:
            origin = origin.strip().lower().rstrip("/")
            if origin == "null":
                return REASON_NULL_ORIGIN
            if origin in self.allowed_origins:
                return None
            host = headers.get("host", "").strip().lower()
            own = _origin_key(f"{own_scheme}://{host}") if host else None
            if own is not None and _origin_key(origin) == own:
                return None
            return REASON_FOREIGN_ORIGIN
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
            return REASON_CROSS_SITE_FETCH
        return None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port made explicit, or None for what is no origin."""
    try:
        parts = urlsplit(origin)
        port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number: no origin, never an error
        return None
    if not parts.hostname or port is None or parts.path or parts.query or parts.fragment or parts.username:
        return None
    return parts.scheme, parts.hostname, port
