"""The HTTP layer every function file uses: the app factory and what operations declare."""

from lib.http.errors import ApiError, not_found
from lib.http.factory import function_app
from lib.http.operation import (
    CRON,
    PRIVATE_DOWNLOAD_HEADERS,
    PUBLIC,
    Access,
    Call,
    Operation,
    Reply,
    Stream,
    requires,
    tagged,
)
from lib.http.schemas import Schema

__all__ = [
    "CRON",
    "PRIVATE_DOWNLOAD_HEADERS",
    "PUBLIC",
    "Access",
    "ApiError",
    "Call",
    "Operation",
    "Reply",
    "Schema",
    "Stream",
    "function_app",
    "not_found",
    "requires",
    "tagged",
]
