"""The local runtime: `./scripts/dev` runs this.

1. A real Postgres: the embedded one (pgserver) in .data/postgres, kept across restarts, unless
   DATABASE_URL (and DATABASE_MIGRATION_URL) point at another.
2. Migrations as the schema owner, the app role checked, demo data seeded.
3. Every api/ function at its Vercel path, routed by scripts/localvercel exactly as the
   deployed bundle would be (vercel.json headers and WAF rules included), plus local-only pages:
   /_local/openapi.json, the generated OpenAPI document.

The route table is built at start: restart after adding files to api/ or public/.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

from starlette.types import ASGIApp

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data" / "postgres"
OPENAPI_PATH = "/_local/openapi.json"


def build_local_app(root: Path = ROOT) -> ASGIApp:
    """The router over this checkout with the local-only pages. Needs the environment set."""
    from scripts.localvercel.asgi import create_app
    from scripts.openapi import OpenApiEndpoint

    return create_app(root, dev_routes={OPENAPI_PATH: OpenApiEndpoint(root)})


def prepare_database() -> None:
    """Start the embedded Postgres unless one is configured; migrate; seed."""
    from scripts import local_postgres, migrate, seed

    if not os.environ.get("DATABASE_URL"):
        local = local_postgres.start(DATA_DIR, "zentro", cleanup_mode="stop")
        os.environ["DATABASE_URL"] = local.app_url
        os.environ["DATABASE_MIGRATION_URL"] = local.migration_url
    migration_url = os.environ.get("DATABASE_MIGRATION_URL")
    if not migration_url:
        sys.exit("DATABASE_URL is set but DATABASE_MIGRATION_URL is not: set both (see .env.example)")
    migrate.upgrade(migration_url, os.environ["DATABASE_URL"])
    seed.seed_demo(migration_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    args = parser.parse_args(argv)

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    os.environ.setdefault("ZENTRO_ENV", "development")
    # A fresh cron secret per run, so the cron endpoints can be tried locally (printed below).
    os.environ.setdefault("CRON_SECRET", secrets.token_urlsafe(32))
    prepare_database()

    import uvicorn

    base = f"http://{args.host}:{args.port}"
    print(f"Zentro is running on {base}")
    print(f"  health:   curl -i {base}/api/health")
    print(f"  OpenAPI:  {base}{OPENAPI_PATH}")
    print(f"  cron:     curl -i -H 'Authorization: Bearer {os.environ['CRON_SECRET']}' {base}/api/cron/purge_audit")
    # proxy_headers=False: uvicorn would otherwise trust X-Forwarded-For from 127.0.0.1 and let a
    # local client pick the address that rate limits and the audit trail see.
    uvicorn.run(
        build_local_app(), host=args.host, port=args.port, log_level="info", server_header=False, proxy_headers=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
