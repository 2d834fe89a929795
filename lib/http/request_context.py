"""Request id and request metadata, set before anything else runs.

Every request gets a fresh random id: echoed in `X-Request-Id`, put in every log line (through
`lib.logs.request_id_var`) and in error bodies, so a user's screenshot of an error leads to the
log lines. An id sent by the client is not trusted (it would let anyone inject text into logs).
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lib.http.client_ip import client_ip
from lib.http.messages import Language, negotiate_language
from lib.logs import request_id_var
from lib.tenancy import RequestMeta

_MAX_USER_AGENT = 512


def new_request_id() -> str:
    return secrets.token_hex(12)


def request_meta(scope: Scope) -> RequestMeta:
    """The metadata RequestContextMiddleware stored for this request."""
    meta = scope.get("state", {}).get("zentro_meta")
    if not isinstance(meta, RequestMeta):
        raise RuntimeError("RequestContextMiddleware did not run for this request")
    return meta


def request_language(scope: Scope) -> Language:
    return negotiate_language(Headers(scope=scope).get("accept-language"))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, behind_vercel: bool) -> None:
        self.app = app
        self.behind_vercel = behind_vercel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        user_agent = headers.get("user-agent")
        meta = RequestMeta(
            request_id=new_request_id(),
            client_ip=client_ip(scope, headers, behind_vercel=self.behind_vercel),
            user_agent=user_agent[:_MAX_USER_AGENT] if user_agent else None,
        )
        scope.setdefault("state", {})["zentro_meta"] = meta

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = meta.request_id
            await send(message)

        token = request_id_var.set(meta.request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
