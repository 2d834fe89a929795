"""The local deployment as one ASGI app: route like Vercel, then serve what the route decided.

    app = create_app(ROOT)                      # tests (in-process) and scripts' dev server

Per request: exact `dev_routes` paths first (local-only endpoints such as an OpenAPI page), then
the Decision from the interpreter over the route table generated from this checkout:

- function: the file's `app` gets the request with the scope unchanged except that the query
  string gains the route's parameters (`id=42`, as Vercel's dest appends them) and the proxy
  headers are Vercel's: client-sent `x-forwarded-*`, `x-real-ip` and `x-vercel-*` are dropped
  and set again from the socket peer, with a fresh `x-vercel-id`;
- static: the public/ file, GET and HEAD only;
- redirect, deny (403), error: a short text/plain answer.

Route headers go on every response unless the response set that header itself (the function's
own headers win, as on Vercel). A function gets every method and answers for itself (the
factory's 405 names the methods it allows); anything else refuses TRACE, CONNECT and other
unusual methods with 405 and `Allow: GET, HEAD`.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scripts.localvercel.filesystem import FilesystemIndex
from scripts.localvercel.interpreter import Decision, Router
from scripts.localvercel.loader import FunctionLoader
from scripts.localvercel.routes import load_project

RawHeaders = list[tuple[bytes, bytes]]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PROXY_HEADERS = frozenset(
    {b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-port", b"x-real-ip"}
)
_TEXT_TYPES = frozenset({"application/json", "application/javascript", "application/xml", "image/svg+xml"})
# Only the built-in table: the machine's /etc/mime.types must not change what tests see.
_MIME = mimetypes.MimeTypes(filenames=())


def local_router(root: Path) -> Router:
    """The interpreter over this checkout's generated route table; raises on a bad vercel.json."""
    _, project, routes = load_project(root)
    return Router(routes, FilesystemIndex.from_project(project))


def create_app(root: Path, *, dev_routes: Mapping[str, ASGIApp] | None = None) -> ASGIApp:
    return LocalVercel(root, local_router(root), dev_routes or {})


class LocalVercel:
    def __init__(self, root: Path, router: Router, dev_routes: Mapping[str, ASGIApp]) -> None:
        self.root = root
        self.router = router
        self.dev_routes = dict(dev_routes)
        self.functions = FunctionLoader(root)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})  # no WebSockets on Vercel functions
            return
        dev_app = self.dev_routes.get(scope["path"])
        if dev_app is not None:
            await dev_app(scope, receive, send)
            return
        method = scope["method"].upper()
        decision = self.router.decide(method, scope["path"])
        request_id = f"lcl1::{secrets.token_hex(4)}-{secrets.token_hex(6)}"
        answer = _Answer(decision, request_id, head=method == "HEAD")
        if decision.kind == "deny":
            await answer.text(send, 403, "403: FORBIDDEN")
        elif decision.kind == "redirect":
            await answer.text(send, decision.status or 308, "Redirecting...", [(b"location", decision.target.encode())])
        elif method not in METHODS and decision.kind != "function":
            await answer.text(send, 405, "405: METHOD_NOT_ALLOWED", [(b"allow", b"GET, HEAD")])
        elif decision.kind == "error":
            status = decision.status or 404
            await answer.text(send, status, f"{status}: {_code(status)}")
        elif decision.kind == "static":
            await self._static(answer, method, decision, send)
        else:
            app = self.functions.app(decision.target)
            await app(_function_scope(scope, decision, request_id), receive, answer.wrap(send))

    async def _static(self, answer: _Answer, method: str, decision: Decision, send: Send) -> None:
        if method not in ("GET", "HEAD"):
            await answer.text(send, 405, "405: METHOD_NOT_ALLOWED", [(b"allow", b"GET, HEAD")])
            return
        body = (self.root / "public" / decision.target).read_bytes()
        await answer.send(
            send, decision.status or 200, body, [(b"content-type", _content_type(decision.target).encode())]
        )


class _Answer:
    """Sends a response with the Decision's route headers merged under the response's own."""

    def __init__(self, decision: Decision, request_id: str, *, head: bool) -> None:
        self.decision = decision
        self.request_id = request_id
        self.head = head

    def merge(self, own: RawHeaders) -> RawHeaders:
        present = {name.lower() for name, _ in own}
        merged = list(own)
        for name, value in self.decision.headers:
            if name.encode() not in present:
                merged.append((name.encode(), value.encode("latin-1")))
        defaults = {b"cache-control": b"public, max-age=0, must-revalidate", b"x-vercel-id": self.request_id.encode()}
        present = {name for name, _ in merged}
        merged.extend((name, value) for name, value in defaults.items() if name not in present)
        return merged

    def wrap(self, send: Send) -> Send:
        """The function's own `send`, with route headers added and a route status imposed."""

        async def send_with_route_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = self.merge([(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])])
                if self.decision.status is not None:
                    message["status"] = self.decision.status
            await send(message)

        return send_with_route_headers

    async def send(self, send: Send, status: int, body: bytes, own: RawHeaders) -> None:
        headers = [*own, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": self.merge(headers)})
        await send({"type": "http.response.body", "body": b"" if self.head else body})

    async def text(self, send: Send, status: int, text: str, own: RawHeaders | None = None) -> None:
        headers = [(b"content-type", b"text/plain; charset=utf-8"), *(own or [])]
        await self.send(send, status, (text + "\n").encode(), headers)


def _function_scope(scope: Scope, decision: Decision, request_id: str) -> Scope:
    query = scope.get("query_string", b"")
    if decision.query:
        added = urlencode(decision.query).encode()
        query = query + b"&" + added if query else added
    client = scope.get("client")
    ip = (client[0] if client else None) or "127.0.0.1"
    headers: RawHeaders = [
        (name, value)
        for name, value in scope.get("headers", [])
        if name.lower() not in _PROXY_HEADERS and not name.lower().startswith(b"x-vercel-")
    ]
    host = next((value for name, value in headers if name.lower() == b"host"), b"localhost")
    headers += [
        (b"x-forwarded-for", ip.encode()),
        (b"x-real-ip", ip.encode()),
        (b"x-vercel-forwarded-for", ip.encode()),
        (b"x-forwarded-host", host),
        (b"x-forwarded-proto", scope.get("scheme", "http").encode()),
        (b"x-vercel-deployment-url", host),
        (b"x-vercel-id", request_id.encode()),
    ]
    return {**scope, "query_string": query, "headers": headers}


def _content_type(name: str) -> str:
    guessed = _MIME.guess_type(name)[0] or "application/octet-stream"
    if guessed.startswith("text/") or guessed in _TEXT_TYPES:
        return f"{guessed}; charset=utf-8"
    return guessed


def _code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.upper().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "ERROR"


async def _lifespan(receive: Receive, send: Send) -> None:
    """Functions start lazily, on their first request, as on Vercel: nothing to do here."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
