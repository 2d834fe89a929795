"""The client's IP address, from a source the client cannot forge.

On Vercel the function sits behind Vercel's proxy (the runtime's own server listens on
127.0.0.1), and the proxy overwrites `x-vercel-forwarded-for` / `x-real-ip` with the address
it accepted the connection from. Anywhere else the socket peer is the client. A client-sent
`X-Forwarded-For` is never read: it would let anyone pick the address that rate limits and the
audit trail see (ASVS V4.1.3).
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import Scope

_VERCEL_HEADERS = ("x-vercel-forwarded-for", "x-real-ip")


def client_ip(scope: Scope, headers: Headers, *, behind_vercel: bool) -> str | None:
    if behind_vercel:
        for name in _VERCEL_HEADERS:
            value = headers.get(name)
            if value:
                # Vercel sends one address; take the first in case a list ever appears.
                return _valid_ip(value.split(",")[0].strip())
        return None
    client = scope.get("client")
    return _valid_ip(client[0]) if client else None


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
