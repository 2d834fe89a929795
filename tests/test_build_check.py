"""The build check's reading of requirements and bundles (the build itself runs in scripts/test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.localvercel.config import load_vercel_json
from scripts.localvercel.filesystem import FilesystemIndex
from scripts.localvercel.interpreter import Router
from scripts.localvercel.project import scan_project
from scripts.localvercel.routes import build_route_table
from scripts.vercel_build_check import Report, check_api_not_found, pinned_requirements, unbundled_requirements

ROOT = Path(__file__).resolve().parent.parent


def test_pinned_requirements_are_named_as_their_dist_info(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# compiled\npsycopg[binary]==3.3.9\n    # via -r requirements.in\nPython-Multipart==0.0.34\nzope.interface==7.0 ; python_version >= '3.12'\n"
    )
    assert pinned_requirements(tmp_path) == {
        "psycopg": "3.3.9",
        "python_multipart": "0.0.34",
        "zope_interface": "7.0",
    }


def test_a_function_missing_a_pinned_package_is_named() -> None:
    pinned = {"websockets": "17.4", "starlette": "1.10.0"}
    complete = {
        "filePathMap": {
            "_vendor/websockets-17.4.dist-info/METADATA": "x",
            "_vendor/starlette-1.10.0.dist-info/METADATA": "y",
        }
    }
    partial = {
        "filePathMap": {"_vendor/starlette-1.10.0.dist-info/METADATA": "y", "_vendor/websockets/__init__.py": "z"}
    }
    assert unbundled_requirements({"api/health": complete}, pinned) == []
    assert unbundled_requirements({"api/health": complete, "api/cron/zeus": partial}, pinned) == [
        "api/cron/zeus lacks websockets==17.4"
    ]


def test_unknown_api_paths_must_reach_the_json_404_function(capsys: pytest.CaptureFixture[str]) -> None:
    # The local router stands in for the compiled one here (tests/test_router_parity.py keeps them equal).
    config = load_vercel_json(ROOT)
    project = scan_project(ROOT)
    filesystem = FilesystemIndex.from_project(project)
    report = Report()
    check_api_not_found(report, Router(build_route_table(config, project.function_files), filesystem))
    assert report.failures == 0
    without_error_route = {
        **config,
        "routes": [route for route in config["routes"] if route.get("dest") != "/api/health"],
    }
    without_error_route["routes"] = [route for route in without_error_route["routes"] if route != {"handle": "error"}]
    check_api_not_found(report, Router(build_route_table(without_error_route, project.function_files), filesystem))
    assert report.failures == 1
    assert "GET /api/does-not-exist: error 404" in capsys.readouterr().out
