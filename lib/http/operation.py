"""What a function file declares: its operations, who may call each, and their schemas.

An `Operation` is one HTTP method on the file's path. It names its handler, its access rule
(there is no default: a route that does not say who may call it does not build), and the
schemas of its query, body and response, from which the OpenAPI document is generated.

Handlers are plain functions of a `Call`, run in a worker thread (database access is
synchronous), returning a response schema, `None` for 204, or a `Reply` to set status/headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from starlette.datastructures import Headers

from lib.auth.sessions import Session
from lib.config import Settings
from lib.http.errors import ApiError
from lib.http.messages import Language
from lib.permissions import Permission
from lib.tenancy import RequestMeta, TenantContext

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call an operation.

    - `PUBLIC`: anyone (health checks, login).
    - `CRON`: only Vercel's scheduler, proven by `Authorization: Bearer $CRON_SECRET`.
    - `requires(Permission.X)`: a signed-in user whose role holds X in lib/permissions.POLICY.
    """

    kind: Literal["public", "cron", "permission"]
    permission: Permission | None = None

    def __post_init__(self) -> None:
        if (self.kind == "permission") != (self.permission is not None):
            raise ValueError("a permission is required exactly when kind is 'permission'")


PUBLIC = Access("public")
CRON = Access("cron")


def requires(permission: Permission) -> Access:
    return Access("permission", permission)


@dataclass(frozen=True, slots=True)
class Call[B, Q]:
    """Everything a handler may know about the request, already validated."""

    meta: RequestMeta
    language: Language
    body: B
    query: Q
    path_params: Mapping[str, str]
    headers: Headers
    cookies: Mapping[str, str]
    settings: Settings
    session: Session | None = None
    tenant: TenantContext | None = None
    if_match: int | None = None

    def path_uuid(self, name: str = "id") -> UUID:
        """A `{name}` path segment as a UUID; anything else names nothing here (404)."""
        try:
            return UUID(self.path_params[name])
        except (KeyError, ValueError):
            raise ApiError("not_found", 404) from None

    def require_tenant(self) -> tuple[TenantContext, Session]:
        """The signed-in context of a `requires(...)` operation (never None there)."""
        if self.tenant is None or self.session is None:
            raise RuntimeError("this operation has no signed-in user; declare requires(...)")
        return self.tenant, self.session


@dataclass(frozen=True, slots=True)
class Reply:
    """A response whose status or headers differ from the operation's defaults."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


def tagged(body: Any, status: int = 200) -> Reply:
    """A versioned resource, with its version as the ETag a later If-Match sends back."""
    return Reply(body=body, status=status, headers={"ETag": f'"{body.version}"'})


# An If-Match value: the version an ETag carried, `"7"` (quotes and a weak W/ prefix allowed).
IF_MATCH_PATTERN = r'^(?:W/)?"?([0-9]{1,9})"?$'


# Private files served to a browser (payment proofs, portal screenshots): never rendered inline
# by us (Stream's filename makes it an attachment), sandboxed even if opened, never cached.
PRIVATE_DOWNLOAD_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}


@dataclass(frozen=True, slots=True)
class Stream:
    """A response body produced piece by piece (exports): memory stays flat with its size."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str | None = None


Handler = Callable[[Call[Any, Any]], Any]


@dataclass(frozen=True, slots=True)
class Operation:
    method: HttpMethod
    handler: Handler
    access: Access
    # A schema, or several when the view depends on the caller (e.g. LOGISTICS' order view).
    response: type | tuple[type, ...] | None = None
    body: type | None = None
    query: type | None = None
    status: int = 200
    summary: str = ""
    errors: tuple[int, ...] = ()
    # Optimistic concurrency: the request must carry `If-Match: "<version>"` (428 without it).
    # "optional": checked when sent (a PUT that creates or replaces a whole resource).
    if_match: bool | Literal["optional"] = False
    # A non-JSON request body, handed to the handler as bytes (e.g. ("text/csv",)).
    raw_body: tuple[str, ...] = ()
    # The media type of a streamed (Stream) response, for the OpenAPI document.
    streams: str | None = None

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"unsupported method {self.method!r}")
        if not isinstance(self.access, Access):
            raise ValueError("every operation must declare its access rule")
        if self.method == "GET" and self.body is not None:
            raise ValueError("GET operations take no body")
        if not 200 <= self.status <= 299:
            raise ValueError("an operation's default status must be 2xx")
        if self.status == 204 and self.response is not None:
            raise ValueError("a 204 operation has no response body")
        if self.raw_body and self.body is not None:
            raise ValueError("an operation takes either a JSON body schema or a raw body, not both")


def operation(method: HttpMethod, handler: Handler, *, access: Access, **options: Any) -> Operation:
    return Operation(method=method, handler=handler, access=access, **options)


_PATH_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def path_params_of(path: str) -> tuple[str, ...]:
    """Names of the `{param}` segments of a route path."""
    return tuple(_PATH_PARAM.findall(path))
