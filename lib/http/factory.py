"""The one factory every api/ function file builds its app with.

    app = function_app("/api/health", Operation("GET", health, access=PUBLIC, response=Health))

Every function gets the same stack by construction, outermost first:

1. RequestContextMiddleware  request id, client IP, user agent; `X-Request-Id` on the response
2. SecurityHeadersMiddleware HSTS, CSP, nosniff, frame and referrer policy, `no-store`
3. ErrorBoundaryMiddleware   every exception becomes the JSON error shape; bugs are reported
4. CORSMiddleware            only when ALLOWED_ORIGINS lists origins
5. OriginCheckMiddleware     writes from foreign origins are refused (CSRF)
6. BodyLimitMiddleware       bodies over the limit are refused with 413
7. the route: access check, body/query validation, the handler, response

A plain handler runs in a worker thread, with its authentication. A coroutine handler runs on the
event loop and must not block; its reads use lib/db/pipeline.tenant_read_async.

The route path is the public path Vercel serves the file at (the app sees the browser's path);
a test checks it against the file's location. `{id}` segments come from the path itself, never
from the query string Vercel also passes them in.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import re
from collections.abc import Iterable
from typing import Any, NoReturn

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from lib.auth import sessions
from lib.auth.sessions import Session
from lib.config import Settings
from lib.config import settings as load_settings
from lib.db.failures import retrying_conflicts
from lib.db.pipeline import confirm_session
from lib.db.session_check import SessionChanged, SessionCheck
from lib.http.authentication import authenticate, remembered
from lib.http.body_limit import BodyLimitMiddleware
from lib.http.cors import CorsMiddleware
from lib.http.cron_auth import require_cron_secret
from lib.http.error_boundary import ErrorBoundaryMiddleware
from lib.http.errors import ApiError, ErrorDetail, not_found
from lib.http.operation import IF_MATCH_PATTERN, Call, Operation, Reply, Stream, path_params_of
from lib.http.origin_check import OriginCheckMiddleware
from lib.http.request_context import RequestContextMiddleware, request_language, request_meta
from lib.http.schemas import decode_json, decode_query, encode_json
from lib.http.security_headers import SecurityHeadersMiddleware
from lib.logs import configure_logging
from lib.monitoring import init_monitoring, traced
from lib.tenancy import RequestMeta, TenantContext

_JSON = "application/json"
_JSON_UTF8 = "application/json; charset=utf-8"


def function_app(
    path: str,
    *operations: Operation,
    max_body_bytes: int | None = None,
    settings: Settings | None = None,
) -> Starlette:
    """Build a function's Starlette app: `path` served with one Operation per method."""
    if not path.startswith("/api/"):
        raise ValueError("function paths live under /api/")
    if not operations:
        raise ValueError("a function needs at least one operation")
    by_method: dict[str, Operation] = {}
    for op in operations:
        if op.method in by_method:
            raise ValueError(f"{op.method} {path} is declared twice")
        by_method[op.method] = op

    config = settings or load_settings()
    configure_logging(config.log_level)
    init_monitoring(config)
    path_params = frozenset(path_params_of(path))

    async def endpoint(request: Request) -> Response:
        op = by_method["GET" if request.method == "HEAD" else request.method]
        with traced(op.method, path):
            return await _dispatch(op, request, config, path_params)

    middleware = [
        Middleware(RequestContextMiddleware, behind_vercel=config.on_vercel),
        Middleware(SecurityHeadersMiddleware),
        Middleware(ErrorBoundaryMiddleware),
        *_cors(config.allowed_origins, by_method),
        # Behind Vercel every browser reached the edge over https, whatever scheme the function sees.
        Middleware(
            OriginCheckMiddleware,
            allowed_origins=config.allowed_origins,
            public_scheme="https" if config.on_vercel else None,
        ),
        Middleware(BodyLimitMiddleware, max_bytes=max_body_bytes or config.max_body_bytes),
    ]
    app = Starlette(
        routes=[Route(path, endpoint, methods=list(by_method))],
        middleware=middleware,
        exception_handlers={HTTPException: _http_exception},
    )
    # `/api/health/` is a 404 like any path not served here, never a redirect to the Host header's origin.
    app.router.redirect_slashes = False
    app.state.zentro_path = path
    app.state.zentro_operations = tuple(operations)
    _freeze_startup_objects()
    return app


_startup_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, when its first function is built: everything made while loading (modules,
    SQLAlchemy, Sentry, the app: about 57,000 objects for the orders function) lives as long as the
    process, so it moves out of the collector's sight (gc.freeze, O(1)) and later collections walk
    only what requests make. A full collection over the loaded objects takes about 27 ms (measured
    on the development machine); no request should pay for one."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()


def _cors(origins: tuple[str, ...], by_method: dict[str, Operation]) -> list[Middleware]:
    if not origins:
        return []
    return [
        Middleware(
            CorsMiddleware,
            allow_origins=list(origins),
            allow_credentials=True,
            allow_methods=list(by_method),
            allow_headers=["content-type", "if-match", "accept-language"],
            expose_headers=["x-request-id", "etag", "retry-after", "content-disposition"],
            max_age=600,
        )
    ]


async def _dispatch(op: Operation, request: Request, config: Settings, path_params: Iterable[str]) -> Response:
    if op.access.kind == "cron":
        require_cron_secret(request.headers, config)
    raw = await request.body()  # bounded by BodyLimitMiddleware
    if inspect.iscoroutinefunction(op.handler):
        return _response(op, await _run_on_loop(op, request, raw, config, path_params))

    # Authentication (a database read) and the handler share one worker thread: one hop, through
    # asyncio's executor (context variables copied, as anyio does): anyio.to_thread's hand-off
    # cost about 0.16 ms more per request (measured with scripts/bench_orders).
    # A transaction Postgres rolled back to break a deadlock runs again (lib/db/failures), unless the
    # handler had already committed something.
    run = functools.partial(_run, op, request, raw, config, path_params)
    return _response(op, await asyncio.to_thread(retrying_conflicts, run))


def _bet(op: Operation, request: Request, meta: RequestMeta, config: Settings) -> tuple[Session, TenantContext] | None:
    """The remembered session taken on trust (lib/db/session_check), or None. Only reads bet: they
    have no effects to undo, and nothing they read under a lost bet is answered."""
    permission = op.access.permission
    if op.method != "GET" or permission is None:
        return None
    return remembered(request.cookies, permission, meta, config)


def _run(op: Operation, request: Request, raw: bytes, config: Settings, path_params: Iterable[str]) -> Any:
    """Call a plain handler, in a worker thread. A GET bets on the session this instance
    remembers for the cookie: the bet is settled by the request's first database access, or here
    before answering, and a lost one runs the request again on a fresh lookup."""
    meta = request_meta(request.scope)
    bet = _bet(op, request, meta, config)
    if bet is None:
        return op.handler(_authenticated_call(op, request, raw, config, path_params))
    check = bet[1].session_check
    try:
        try:
            result = op.handler(_call(op, request, raw, config, path_params, meta, *bet))
        except ApiError:
            confirm_session(check)  # a refusal (404, 422...) is only for a confirmed session
            raise
        confirm_session(check)
        return result
    except SessionChanged as lost:
        sessions.forget(lost.check.token_hash)
        return op.handler(_authenticated_call(op, request, raw, config, path_params))


async def _run_on_loop(
    op: Operation, request: Request, raw: bytes, config: Settings, path_params: Iterable[str]
) -> Any:
    """Call a coroutine handler on the event loop. It must not block: its reads go through
    lib/db/pipeline.tenant_read_async. A bet on a remembered session costs no database access, so
    it is taken here, as `_run` takes it; a session lookup, and settling a bet the handler left
    open, are database work in a worker thread."""
    meta = request_meta(request.scope)
    bet = _bet(op, request, meta, config)
    if bet is None:
        return await op.handler(await asyncio.to_thread(_authenticated_call, op, request, raw, config, path_params))
    check = bet[1].session_check
    try:
        try:
            result = await op.handler(_call(op, request, raw, config, path_params, meta, *bet))
        except ApiError:
            await _confirm_session(check)
            raise
        await _confirm_session(check)
        return result
    except SessionChanged as lost:
        sessions.forget(lost.check.token_hash)
        return await op.handler(await asyncio.to_thread(_authenticated_call, op, request, raw, config, path_params))


async def _confirm_session(check: SessionCheck | None) -> None:
    if check is not None and check.pending:
        await asyncio.to_thread(confirm_session, check)


def _authenticated_call(
    op: Operation, request: Request, raw: bytes, config: Settings, path_params: Iterable[str]
) -> Call[Any, Any]:
    """The handler's Call, authenticated by a fresh session lookup (database work: not on the loop)."""
    meta = request_meta(request.scope)
    session, tenant = (None, None)
    if op.access.permission is not None:
        session, tenant = authenticate(request.cookies, op.access.permission, meta, config)
    return _call(op, request, raw, config, path_params, meta, session, tenant)


def _call(
    op: Operation,
    request: Request,
    raw: bytes,
    config: Settings,
    path_params: Iterable[str],
    meta: RequestMeta,
    session: Session | None,
    tenant: TenantContext | None,
) -> Call[Any, Any]:
    """Validate what the request carries (authentication came first: 401/403 before 4xx)."""
    wants_if_match = op.if_match is True or (op.if_match == "optional" and "if-match" in request.headers)
    if_match = _if_match(request) if wants_if_match else None
    body: Any = None
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if op.raw_body:
        if media_type not in op.raw_body:
            raise ApiError("unsupported_media_type", 415, params={"media_type": " / ".join(op.raw_body)})
        body = raw
    elif op.body is not None:
        if not _is_json(request.headers.get("content-type", "")):
            raise ApiError("unsupported_media_type", 415, params={"media_type": _JSON_UTF8})
        body = decode_json(raw, op.body)
    elif raw:
        raise ApiError(
            "validation_failed", 422, details=[ErrorDetail(field="$", reason="this operation takes no body")]
        )

    query: Any = None
    if op.query is not None:
        # Vercel also passes dynamic path segments as query parameters; they are not the client's.
        params = {k: v for k, v in request.query_params.items() if k not in path_params}
        query = decode_query(params, op.query)

    return Call(
        meta=meta,
        language=request_language(request.scope),
        body=body,
        query=query,
        path_params=dict(request.path_params),
        headers=request.headers,
        cookies=request.cookies,
        settings=config,
        session=session,
        tenant=tenant,
        if_match=if_match,
    )


def _is_json(content_type: str) -> bool:
    """`application/json`, with no parameter but charset=utf-8 (any case, quoted or not): the bytes
    are decoded as UTF-8, so a body that says it is anything else (or `+json` anything) is refused."""
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != _JSON:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if parameter.strip() and (name.strip().lower() != "charset" or value.lower() != "utf-8"):
            return False
    return True


_ETAG = re.compile(IF_MATCH_PATTERN)


def _if_match(request: Request) -> int:
    """The version the client last saw, from `If-Match: "7"` (428 without it, 400 if malformed)."""
    header = request.headers.get("if-match")
    if header is None:
        raise ApiError("precondition_required", 428)
    match = _ETAG.match(header.strip())
    if match is None:
        raise ApiError("bad_request", 400)
    return int(match.group(1))


def _response(op: Operation, result: Any) -> Response:
    reply = result if isinstance(result, Reply) else Reply(body=result, status=op.status)
    if isinstance(reply.body, Stream):
        headers = dict(reply.headers)
        if reply.body.filename:
            headers["Content-Disposition"] = f'attachment; filename="{reply.body.filename}"'
        return StreamingResponse(
            reply.body.chunks, status_code=reply.status, headers=headers, media_type=reply.body.media_type
        )
    if reply.body is None:
        return Response(status_code=reply.status if reply.status != 200 else 204, headers=dict(reply.headers))
    if op.response is not None and not isinstance(reply.body, op.response):
        # The OpenAPI document promises op.response; answering anything else is a bug.
        raise TypeError(f"{op.method} handler returned {type(reply.body).__name__}, not {op.response!r}")
    return Response(encode_json(reply.body), status_code=reply.status, headers=dict(reply.headers), media_type=_JSON)


async def _http_exception(request: Request, exc: Exception) -> NoReturn:
    """Starlette's own 404/405 (unknown path, wrong method) in our error shape."""
    if not isinstance(exc, HTTPException):
        raise exc
    if exc.status_code == 404:
        raise not_found()
    if exc.status_code == 405:
        raise ApiError("method_not_allowed", 405, headers=exc.headers)
    raise ApiError("bad_request" if exc.status_code < 500 else "internal_error", exc.status_code)
