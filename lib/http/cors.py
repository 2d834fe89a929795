"""CORS for ALLOWED_ORIGINS, with refusals in the one error shape.

Starlette's CORSMiddleware does the work (allowlist only, credentials, preflight caching); it
answers a refused preflight with a plain-text 400, which this subclass turns into an ApiError
so the client sees the same JSON error as everywhere else.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from lib.http.errors import ApiError


class CorsMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code >= 400:
            raise ApiError("cors_rejected", 400)
        return response
