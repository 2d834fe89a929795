"""The OpenAPI 3.1 document of every api/ function, generated from the code itself.

Each function file's app carries its public path and its Operations (lib/http/factory.py);
the schemas are msgspec Structs, which describe themselves as JSON Schema. Nothing here is
written by hand, so the document cannot drift from the routes. It is served by the local
runtime at /_local/openapi.json (never in production: this module lives in scripts/, which is
not bundled) and is what schemathesis tests the API against.

    python -m scripts.openapi > openapi.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib.http.errors import ErrorEnvelope
from lib.http.operation import IF_MATCH_PATTERN, Operation, path_params_of
from scripts.localvercel.loader import FunctionLoader
from scripts.localvercel.project import function_name, param_name, scan_project

ROOT = Path(__file__).resolve().parent.parent
ERROR_REF = "#/components/schemas/ErrorEnvelope"
_REF_TEMPLATE = "#/components/schemas/{name}"

# Errors any operation of a kind can answer, besides the ones it declares itself.
_WRITE_ERRORS = (400, 403, 413, 415, 422)
_QUERY_ERRORS = (422,)
_CRON_ERRORS = (401,)
_SIGNED_IN_ERRORS = (401, 403)


def _security(op: Operation) -> list[dict[str, list[str]]]:
    if op.access.kind == "cron":
        return [{"cronSecret": []}]
    if op.access.kind == "permission":
        return [{"sessionCookie": []}]
    return []


def document(
    functions: Iterable[tuple[str, tuple[Operation, ...]]],
    *,
    title: str = "Zentro API",
    session_cookie: str = "zentro_session",
) -> dict[str, Any]:
    """OpenAPI 3.1 for (path, operations) pairs, as declared by function_app()."""
    functions = sorted(functions)
    types: list[Any] = [ErrorEnvelope]
    for _, operations in functions:
        for op in operations:
            types.extend(t for t in (op.body, op.query) if t is not None)
            types.extend(_response_types(op))
    _, components = msgspec.json.schema_components(
        sorted(set(types), key=lambda t: t.__name__), ref_template=_REF_TEMPLATE
    )
    # A rule between fields (one of two keys is needed) is stated by the schema class itself.
    for kind in _struct_types(types):
        extra = getattr(kind, "json_schema_extra", None)
        if extra and kind.__name__ in components:
            components[kind.__name__] = {**components[kind.__name__], **extra}

    paths: dict[str, Any] = {}
    for path, operations in functions:
        paths[path] = {op.method.lower(): _operation(path, op, components) for op in operations}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": "Generated from the api/ functions."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "cronSecret": {"type": "http", "scheme": "bearer", "description": "CRON_SECRET"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": session_cookie},
            },
        },
    }


def _struct_types(roots: Iterable[Any]) -> set[type]:
    """Every Struct class reachable from `roots` (nested ones included)."""
    found: set[type] = set()
    stack = [msgspec.inspect.type_info(root) for root in roots]
    while stack:
        info = stack.pop()
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in found:
                continue
            found.add(info.cls)
            stack.extend(field.type for field in info.fields)
        elif isinstance(info, msgspec.inspect.UnionType):
            stack.extend(info.types)
        elif isinstance(info, msgspec.inspect.Metadata):
            stack.append(info.type)
        elif isinstance(info, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType)):
            stack.append(info.item_type)
        elif isinstance(info, msgspec.inspect.DictType):
            stack.append(info.value_type)
    return found


def _response_types(op: Operation) -> list[type]:
    if op.response is None:
        return []
    return list(op.response) if isinstance(op.response, tuple) else [op.response]


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": _REF_TEMPLATE.format(name=kind.__name__)}


def _operation(path: str, op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    kinds = _response_types(op)
    if op.streams is not None:
        content = {op.streams: {"schema": {"type": "string"}}}
        responses[str(op.status)] = {"description": "Success, streamed", "content": content}
    elif kinds:
        # anyOf, not oneOf: the role views may overlap (an empty page fits both).
        schema = _ref(kinds[0]) if len(kinds) == 1 else {"anyOf": [_ref(kind) for kind in kinds]}
        responses[str(op.status)] = {"description": "Success", "content": {"application/json": {"schema": schema}}}
    else:
        responses[str(op.status)] = {"description": "Success, no body"}

    errors = set(op.errors) | {405}
    if op.body is not None or op.raw_body:
        errors |= set(_WRITE_ERRORS)
    if op.if_match is True:
        errors |= {400, 409, 428}
    elif op.if_match:
        errors |= {400, 409}
    if op.query is not None:
        errors |= set(_QUERY_ERRORS)
    if op.access.kind == "cron":
        errors |= set(_CRON_ERRORS)
    if op.access.kind == "permission":
        errors |= set(_SIGNED_IN_ERRORS)
    if path_params_of(path):
        errors.add(404)
    for status in sorted(errors):
        responses[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
        }

    spec: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
        "summary": op.summary or op.handler.__name__,
        "description": f"Requires the `{op.access.permission}` permission." if op.access.permission else "",
        "responses": responses,
        "security": _security(op),
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path_params_of(path)
    ]
    if op.query is not None:
        query_schema = components[op.query.__name__]
        required = set(query_schema.get("required", []))
        parameters.extend(
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in query_schema.get("properties", {}).items()
        )
    if op.if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": op.if_match is True,
                "description": "The version being changed, as returned in the ETag",
                "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
            }
        )
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    elif op.raw_body:
        spec["requestBody"] = {
            "required": True,
            "content": {media: {"schema": {"type": "string"}} for media in op.raw_body},
        }
    return spec


def public_path(file: str) -> str:
    """The path Vercel serves a function file at: `api/orders/[id].py` -> `/api/orders/{id}`."""
    parts = file.removesuffix(".py").split("/")
    if parts[-1] == "index":
        parts = parts[:-1]
    return "/" + "/".join(f"{{{name}}}" if (name := param_name(part)) else part for part in parts)


Declared = tuple[str, str, tuple[Operation, ...]]


def declared_functions(root: Path, loader: FunctionLoader | None = None) -> list[Declared]:
    """(file, declared path, operations) of every api/ function, importing each file once."""
    loader = loader or FunctionLoader(root)
    found = []
    for file in scan_project(root).function_files:
        app = loader.app(function_name(file))
        state = app.state  # type: ignore[attr-defined]
        found.append((file, state.zentro_path, state.zentro_operations))
    return found


def project_document(root: Path = ROOT, loader: FunctionLoader | None = None) -> dict[str, Any]:
    from lib.config import settings

    return document(
        ((path, operations) for _, path, operations in declared_functions(root, loader)),
        session_cookie=settings().session_cookie_name,
    )


class OpenApiEndpoint:
    """Serves the document at a local-only path; built on first request, after env is set."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self._document: dict[str, Any] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._document is None:
            self._document = project_document(self.root)
        response: Response = JSONResponse(self._document)
        if Request(scope).method not in ("GET", "HEAD"):
            response = JSONResponse({"error": "method not allowed"}, status_code=405)
        await response(scope, receive, send)


def main() -> int:
    json.dump(project_document(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
