"""multipart/form-data bodies, parsed from bytes the body limit already bounded.

Uploads arrive through the same factory as every other request: the body is read (and refused
with 413 over the route's limit) before anything else, so parsing works on bytes in memory with
python-multipart's streaming parser, the one Starlette itself uses. At most `max_parts` parts
and a few headers each are accepted; a malformed body is a 400, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header

from lib.http.errors import ApiError, ErrorDetail


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def parse_multipart(body: bytes, content_type: str, *, max_parts: int = 8) -> dict[str, Part]:
    """The parts of a multipart/form-data body by field name (a repeated name is refused)."""
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise ApiError("unsupported_media_type", 415, params={"media_type": "multipart/form-data"})

    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    field = bytearray()
    value = bytearray()
    data = bytearray()

    def on_part_begin() -> None:
        headers.clear()
        data.clear()
        if len(parts) >= max_parts:
            raise _Malformed("too many parts")

    def on_header_field(chunk: bytes, start: int, end: int) -> None:
        field.extend(chunk[start:end])

    def on_header_value(chunk: bytes, start: int, end: int) -> None:
        value.extend(chunk[start:end])

    def on_header_end() -> None:
        headers[bytes(field).lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_part_data(chunk: bytes, start: int, end: int) -> None:
        data.extend(chunk[start:end])

    def on_part_end() -> None:
        disposition, params = parse_options_header(headers.get(b"content-disposition", b""))
        name = params.get(b"name")
        if disposition != b"form-data" or name is None:
            raise _Malformed("a part without a form-data name")
        filename = params.get(b"filename")
        part_type = headers.get(b"content-type")
        parts.append(
            Part(
                name=name.decode("utf-8", "replace"),
                filename=filename.decode("utf-8", "replace") if filename is not None else None,
                content_type=part_type.decode("latin-1").strip().lower() if part_type else None,
                data=bytes(data),
            )
        )

    ended = False

    def on_end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except _Malformed as bad:
        raise _bad_form(str(bad)) from None
    except Exception:  # noqa: BLE001 - python-multipart raises several types for a bad body
        raise _bad_form("not a multipart/form-data body") from None
    if not ended:
        raise _bad_form("the body ends before its closing boundary")
    by_name: dict[str, Part] = {}
    for part in parts:
        if part.name in by_name:
            raise _bad_form(f"the field {part.name!r} appears twice")
        by_name[part.name] = part
    return by_name


class _Malformed(Exception):
    pass


def _bad_form(reason: str) -> ApiError:
    return ApiError("bad_request", 400, details=[ErrorDetail(field="$", reason=reason)])
