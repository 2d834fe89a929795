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
7. Without BROWSERBASE_API_KEY, Zeus runs on stand-ins: a fake Browserbase API whose sessions are
   local Chromium processes, and a fake Zeus portal (scripts/standins). Connect the portal URL it
   prints with PUT /api/integrations/zeus; dispatched Zeus orders are registered every few seconds.

The route table is built at start: restart after adding files to api/ or public/.
"""

from __future__ import annotations

import argparse
import contextlib
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
    from lib import outbox_cron
    from lib.jobs import RunClock
    from lib.zeus import shipments

    log = logging.getLogger("zentro.devserver")
    while not stop.wait(OUTBOX_INTERVAL_SECONDS):
        try:
            run = outbox_cron.run(RunClock.start(datetime.now(UTC), outbox_cron.RUN_SECONDS))
            report, files = run.emails, run.files
            if report.done or report.dead or report.halted:
                log.info("outbox", extra={"sent": report.done, "dead": report.dead, "halted": report.halted})
            if files.done or files.dead:
                log.info("file_deletions", extra={"deleted": files.done, "dead": files.dead})
            zeus = shipments.drain(RunClock.start(datetime.now(UTC), shipments.RUN_SECONDS))
            if zeus.done or zeus.dead or zeus.retried or zeus.halted:
                log.info("zeus", extra={"registered": zeus.done, "retrying": zeus.retried, "halted": zeus.halted})
        except Exception:
            log.exception("outbox_drain_failed")


def start_zeus_standins(stack: contextlib.ExitStack) -> str | None:
    """A fake Browserbase (local Chromium) and a fake Zeus portal, unless Browserbase is configured.
    Returns the portal's URL, or None when the real Browserbase is used or Chromium is missing."""
    if os.environ.get("BROWSERBASE_API_KEY"):
        return None
    from scripts.standins.browserbase_api import FakeBrowserbase
    from scripts.standins.chromium import ChromiumMissing, find_chromium
    from scripts.standins.serving import serve
    from scripts.standins.zeus_portal import ZeusPortal

    try:
        find_chromium()
    except ChromiumMissing as missing:
        print(f"  zeus:     no stand-in ({missing}); Zeus jobs stay queued")
        return None
    key, project = secrets.token_urlsafe(24), "local-project"
    fake = FakeBrowserbase(api_key=key, project_id=project)
    stack.callback(fake.close)
    os.environ.update(
        {
            "BROWSERBASE_API_KEY": key,
            "BROWSERBASE_PROJECT_ID": project,
            "BROWSERBASE_BASE_URL": stack.enter_context(serve(fake.app)),
        }
    )
    return stack.enter_context(serve(ZeusPortal().app))


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
    standins = contextlib.ExitStack()
    portal_url = start_zeus_standins(standins)
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
    if portal_url:
        print(f"  zeus:     stand-in portal {portal_url} (user demo, password demo-zeus-clave); as the ADMIN:")
        print(f'            PUT /api/integrations/zeus {{"portal_url": "{portal_url}", "username": "demo", ...}}')
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
        standins.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
