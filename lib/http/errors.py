"""One error vocabulary, rendered in one place.

lib raises `ApiError` with a stable machine code; `render_error` turns it into the only error
shape clients ever see:

    {"error": {"code": "not_found", "message": "No encontrado.", "request_id": "..."}}

plus `details` for validation errors (which field, why). The message is Spanish or English by
Accept-Language. Anything that is not an ApiError is a bug: the client gets `internal_error`
and nothing of the exception; the exception goes to the log and to Sentry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from lib.http.messages import MESSAGES, Language, message
from lib.logs import security_log


class ErrorDetail(msgspec.Struct, frozen=True, omit_defaults=True):
    field: str
    reason: str
    row: int | None = None  # the line of an uploaded file (CSV imports), counting the header as 1


class ApiError(Exception):
    """An error the client caused or must be told about, with its HTTP status."""

    def __init__(
        self,
        code: str,
        status: int,
        *,
        params: Mapping[str, object] | None = None,
        details: Sequence[ErrorDetail] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if code not in MESSAGES:
            raise ValueError(f"error code {code!r} has no message; add it to lib/http/messages.py")
        if not 400 <= status <= 599:
            raise ValueError(f"status {status} is not an error status")
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = dict(params or {})
        self.details = tuple(details)
        self.headers = dict(headers or {})


def not_found() -> ApiError:
    return ApiError("not_found", 404)


def service_unavailable(retry_after_seconds: int) -> ApiError:
    """503: a part we depend on (the database) is down for now; the client may retry after a while."""
    return ApiError("service_unavailable", 503, headers={"Retry-After": str(retry_after_seconds)})


def object_not_found(kind: str, object_id: object, actor_id: object) -> ApiError:
    """404 for a record the caller cannot see, whether it does not exist or belongs to another
    organization (the two must look the same); the security log keeps the attempt, since a run
    of these is someone walking ids."""
    security_log.info("object_not_found", extra={"object": kind, "object_id": str(object_id), "actor": str(actor_id)})
    return not_found()


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    code: str
    message: str
    request_id: str | None
    details: tuple[ErrorDetail, ...] = ()


class ErrorEnvelope(msgspec.Struct, frozen=True):
    error: ErrorBody


_encoder = msgspec.json.Encoder()


def render_error(error: ApiError, *, request_id: str | None, language: Language) -> bytes:
    body = ErrorBody(
        code=error.code,
        message=message(error.code, language, error.params),
        request_id=request_id,
        details=error.details,
    )
    return _encoder.encode(ErrorEnvelope(error=body))


INTERNAL_ERROR = ApiError("internal_error", 500)
