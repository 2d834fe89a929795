"""The local runtime: `./scripts/dev` runs this.

1. Local secrets (password pepper, encryption keys, cron secret) generated once into
   .data/dev-secrets.json, so sealed data and passwords survive restarts; any of them set in the
   environment wins.
2. A real Postgres: the embedded one (pgserver) in .data/postgres, kept across restarts, unless
   DATABASE_URL (and DATABASE_MIGRATION_URL) point at another.
3. Migrations as the schema owner, the app role checked, demo data seeded (accounts printed).
4. Every api/ function at its Vercel path, routed by scripts/localvercel exactly as the
   deployed bundle would be (vercel.json headers and WAF rules included), plus local-only pages:
   /_local/openapi.json, the generated OpenAPI document.
5. Local stand-ins for what Vercel Cron does in production: the email outbox is drained every
   few seconds. Without RESEND_API_KEY, mail lands as .eml files in .data/mail.
6. Without BLOB_READ_WRITE_TOKEN, stored files (payment proofs) land in .data/storage.

The route table is built at start: restart after adding files to api/ or public/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from starlette.types import ASGIApp

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data" / "postgres"
SECRETS_FILE = ROOT / ".data" / "dev-secrets.json"
MAIL_DIR = ROOT / ".data" / "mail"
STORAGE_DIR = ROOT / ".data" / "storage"
OPENAPI_PATH = "/_local/openapi.json"
OUTBOX_INTERVAL_SECONDS = 5.0


def build_local_app(root: Path = ROOT) -> ASGIApp:
    """The router over this checkout with the local-only pages. Needs the environment set."""
    from scripts.localvercel.asgi import create_app
    from scripts.openapi import OpenApiEndpoint

    return create_app(root, dev_routes={OPENAPI_PATH: OpenApiEndpoint(root)})


def load_local_secrets() -> None:
    """Generate the local secrets once; the environment overrides any of them."""
    from lib.crypto import KeyRing

    SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
    stored: dict[str, str] = json.loads(SECRETS_FILE.read_text()) if SECRETS_FILE.exists() else {}
    wanted: dict[str, Callable[[], str]] = {
        "PASSWORD_PEPPER": lambda: secrets.token_urlsafe(32),
        "ENCRYPTION_KEYS": lambda: KeyRing.generate_value(1),
        "CRON_SECRET": lambda: secrets.token_urlsafe(32),
    }
    changed = False
    for name, make in wanted.items():
        if name not in stored:
            stored[name] = make()
            changed = True
        os.environ.setdefault(name, stored[name])
    if changed:
        SECRETS_FILE.write_text(json.dumps(stored, indent=2))
        SECRETS_FILE.chmod(0o600)


def drain_outbox_forever(stop: threading.Event) -> None:
    """What Vercel Cron does every minute in production, every few seconds here."""
    from lib.email.outbox import drain_outbox
    from lib.payments.proof_storage import drain_deletions

    log = logging.getLogger("zentro.devserver")
    while not stop.wait(OUTBOX_INTERVAL_SECONDS):
        try:
            report = drain_outbox(datetime.now(UTC))
            if report.done or report.dead or report.halted:
                log.info("outbox", extra={"sent": report.done, "dead": report.dead, "halted": report.halted})
            files = drain_deletions(datetime.now(UTC))
            if files.done or files.dead:
                log.info("file_deletions", extra={"deleted": files.done, "dead": files.dead})
        except Exception:
            log.exception("outbox_drain_failed")


def prepare_database() -> str:
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
    return seed.describe(seed.seed_demo(migration_url))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    args = parser.parse_args(argv)

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    os.environ.setdefault("ZENTRO_ENV", "development")
    load_local_secrets()
    if not os.environ.get("RESEND_API_KEY"):
        os.environ.setdefault("MAIL_DIR", str(MAIL_DIR))
    if not os.environ.get("BLOB_READ_WRITE_TOKEN"):
        os.environ.setdefault("STORAGE_DIR", str(STORAGE_DIR))
    accounts = prepare_database()
    stop = threading.Event()
    threading.Thread(target=drain_outbox_forever, args=(stop,), daemon=True, name="local-cron").start()

    import uvicorn

    base = f"http://{args.host}:{args.port}"
    print(f"Zentro is running on {base}")
    print(f"  health:   curl -i {base}/api/health")
    print(f"  OpenAPI:  {base}{OPENAPI_PATH}")
    print(f"  cron:     curl -i -H 'Authorization: Bearer {os.environ['CRON_SECRET']}' {base}/api/cron/retention")
    print(f"  sign in:  curl -i -H 'Content-Type: application/json' -d '{{\"email\": ...}}' {base}/api/auth/login")
    if os.environ.get("MAIL_DIR"):
        print(f"  mail:     emails are written to {os.environ['MAIL_DIR']} (no RESEND_API_KEY)")
    if os.environ.get("STORAGE_DIR"):
        print(f"  files:    stored files are written to {os.environ['STORAGE_DIR']} (no BLOB_READ_WRITE_TOKEN)")
    print(accounts)
    # proxy_headers=False: uvicorn would otherwise trust X-Forwarded-For from 127.0.0.1 and let a
    # local client pick the address that rate limits and the audit trail see.
    try:
        uvicorn.run(
            build_local_app(),
            host=args.host,
            port=args.port,
            log_level="info",
            server_header=False,
            proxy_headers=False,
        )
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
