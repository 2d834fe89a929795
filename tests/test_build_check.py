"""The build check's reading of requirements and bundles (the build itself runs in scripts/test)."""

from __future__ import annotations

from pathlib import Path

from scripts.vercel_build_check import pinned_requirements, unbundled_requirements


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
