"""The HTTP client ResendTransport gives the resend SDK (imported only with the SDK).

The SDK's default `RequestsClient` makes a new connection per call with a 30 s timeout. This
one keeps a `requests.Session` (one TLS handshake per drain run instead of one per message),
uses separate connect and read timeouts, ignores proxy and netrc settings from the environment
(netrc credentials would replace the Authorization header), and does not follow redirects (the
API never redirects; a redirect means a wrong API URL). A network failure becomes a
`NetworkFailure` that names the exception class only, a redirect a `RedirectRefused`: the SDK
wraps whatever this client raises into `ResendError(code=500, error_type="HttpClientError")`
(resend/request.py, `make_request`), and ResendTransport finds ours as that error's
`__context__`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import requests
from resend.http_client import HTTPClient


class NetworkFailure(Exception):
    """No HTTP response: connection refused or reset, DNS, TLS, timeout."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class RedirectRefused(Exception):
    """The API URL answered with a redirect: a configuration error, not a network one."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class SessionClient(HTTPClient):
    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self._timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        self._session.trust_env = False

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json: dict[str, object] | list[object] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = self._session.request(
                method=method,
                url=url,
                headers=dict(headers),
                json=cast(Any, json) if data is None else None,
                data=data,
                files=files,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # The exception's text can carry the URL and socket details; its class is enough.
            raise NetworkFailure(type(exc).__name__) from None
        status = int(response.status_code)
        if 300 <= status < 400:
            raise RedirectRefused(status)
        return response.content, status, response.headers

    def close(self) -> None:
        self._session.close()
