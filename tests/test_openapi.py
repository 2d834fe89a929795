"""The OpenAPI document covers every api/ function, at the path Vercel serves it at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis

from scripts.openapi import declared_functions, project_document, public_path

ROOT = Path(__file__).resolve().parent.parent


def missing_from(document: dict[str, Any], functions: list[tuple[str, str, tuple[Any, ...]]]) -> list[str]:
    """Every (path, method) a function file serves that the document does not describe."""
    missing = []
    for file, _, operations in functions:
        path = public_path(file)
        for op in operations:
            if op.method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{op.method} {path} ({file})")
    return missing


@pytest.fixture(scope="module")
def functions(database: Any) -> list[tuple[str, str, tuple[Any, ...]]]:
    return declared_functions(ROOT)


def test_every_route_is_documented(functions: list[tuple[str, str, tuple[Any, ...]]]) -> None:
    files = {file for file, *_ in functions}
    on_disk = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "api").rglob("*.py")
        if not any(part.startswith("_") for part in path.relative_to(ROOT).parts)
    }
    assert files == on_disk
    document = project_document(ROOT)
    assert missing_from(document, functions) == []
    # The check does catch a route missing from the document.
    document["paths"].pop("/api/health")
    assert missing_from(document, functions) == ["GET /api/health (api/health.py)"]


def test_each_app_declares_the_path_vercel_serves_its_file_at(
    functions: list[tuple[str, str, tuple[Any, ...]]],
) -> None:
    for file, declared, _ in functions:
        assert declared == public_path(file), file
    assert public_path("api/orders/[id].py") == "/api/orders/{id}"
    assert public_path("api/orders/index.py") == "/api/orders"


def test_the_document_is_valid_openapi_3_1(database: Any) -> None:
    document = project_document(ROOT)
    assert document["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(document)
    operations = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
    assert ("GET", "/api/health") in operations
    assert ("GET", "/api/cron/retention") in operations


def test_cron_operations_declare_their_security(database: Any) -> None:
    document = project_document(ROOT)
    assert document["paths"]["/api/cron/retention"]["get"]["security"] == [{"cronSecret": []}]
    assert document["paths"]["/api/health"]["get"]["security"] == []


def test_the_deployed_bundle_does_not_serve_the_document(client: Any) -> None:
    """The document is a local-runtime page: the router without dev routes (= Vercel) has no such path."""
    from starlette.testclient import TestClient

    from scripts.devserver import OPENAPI_PATH, build_local_app

    with TestClient(build_local_app(ROOT), base_url="http://localhost:3000") as local:
        assert local.get(OPENAPI_PATH).status_code == 200
    for path in (OPENAPI_PATH, "/openapi.json", "/api/openapi.json", "/docs"):
        assert client.get(path).status_code == 404, path
