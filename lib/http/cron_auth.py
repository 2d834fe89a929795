"""Cron endpoints answer only Vercel's scheduler, which sends `Bearer $CRON_SECRET`."""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers

from lib.config import Settings
from lib.http.errors import ApiError
from lib.logs import security_log


def require_cron_secret(headers: Headers, settings: Settings) -> None:
    """401 unless the Authorization header carries CRON_SECRET; also 401 when it is unset."""
    expected = settings.cron_secret
    supplied = headers.get("authorization", "")
    scheme, _, token = supplied.partition(" ")
    ok = (
        expected is not None
        and scheme.lower() == "bearer"
        # Constant time: the comparison must not reveal how much of a guess was right.
        and hmac.compare_digest(token.strip().encode(), expected.reveal().encode())
    )
    if not ok:
        security_log.warning("cron_auth_rejected", extra={"secret_configured": expected is not None})
        raise ApiError("unauthorized", 401, headers={"WWW-Authenticate": 'Bearer realm="cron"'})
