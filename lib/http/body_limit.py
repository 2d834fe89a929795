"""Refuse request bodies over a size limit with 413, before they are buffered.

A declared Content-Length over the limit is refused before reading a byte; a chunked body is
counted as it arrives and refused as soon as it crosses the limit.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lib.http.errors import ApiError


def _too_large(limit: int) -> ApiError:
    return ApiError("payload_too_large", 413, params={"limit": limit})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise ApiError("bad_request", 400)
            if int(declared) > self.max_bytes:
                raise _too_large(self.max_bytes)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
