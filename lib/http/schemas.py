"""The base of every request and response schema, and how bodies are decoded.

Schemas are msgspec Structs (cold import ~27 ms, against ~118 ms for pydantic): they validate,
serialise and describe themselves as JSON Schema for the OpenAPI document. Unknown fields are
refused, so a body can never smuggle in `org_id`, `role` or `created_by` (mass assignment):
rows are not wire formats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from lib.http.errors import ApiError, ErrorDetail


class Schema(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for request and response bodies."""


_LOCATION = re.compile(r"^(?P<reason>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)


def _validation_error(exc: msgspec.ValidationError) -> ApiError:
    match = _LOCATION.match(str(exc))
    reason, path = (match["reason"], match["path"] or "$") if match else (str(exc), "$")
    return ApiError("validation_failed", 422, details=[ErrorDetail(field=path, reason=reason)])


def decode_json[T](raw: bytes, schema: type[T]) -> T:
    """Decode and validate a JSON body: 400 when it is not JSON, 422 when it does not fit."""
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc) from None
    except msgspec.DecodeError:
        raise ApiError("invalid_json", 400) from None


def decode_query[T](params: Mapping[str, str], schema: type[T]) -> T:
    """Validate query parameters, converting strings to the declared types."""
    try:
        return msgspec.convert(dict(params), type=schema, strict=False)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc) from None


_encoder = msgspec.json.Encoder()


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)
