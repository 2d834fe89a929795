"""Do the answers that must not tell whether an account exists also take the same time?

    python -m scripts.bench_login_timing [--runs 41] [--reset-runs 401]

Starts a throwaway embedded Postgres, creates an account, and times through the local router
(in-process, so only server time is measured), at the production bcrypt cost (12):

1. POST /api/auth/login: a wrong password for the account against an unknown email;
2. POST /api/auth/password_reset: the account's email against an unknown one. The answer is the
   same 202; what must also match is the work before it (lib/auth/reset_requests: the caps, and
   the request stored sealed; the outbox cron does the rest, untimed here).

The kinds alternate within one run, and the throttle table (and, for resets, the stored
requests) is emptied before each attempt, untimed, so that no attempt is answered early by a
cap. Prints the median of each kind and the ratio unknown / known (aim: within 10%).

Last runs (2-CPU development machine, 2026-12-03): login 0.994; reset 0.990-0.999 (7.2 ms
each). Before the reset request was queued (token, email and audit event written before
answering), the same script gave 0.71-0.74: a known email took 1.4 times an unknown one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Quinoa-Ceviche-Arequipa-71"  # noqa: S105 - a throwaway account in a throwaway database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--reset-runs", type=int, default=401)
    args = parser.parse_args(argv)

    from lib.crypto import KeyRing

    workdir = Path(tempfile.mkdtemp(prefix="zentro-bench-"))
    os.environ.update(
        {
            "ZENTRO_ENV": "development",
            "BCRYPT_COST": "12",
            "PASSWORD_PEPPER": secrets.token_urlsafe(32),
            "ENCRYPTION_KEYS": KeyRing.generate_value(1),
            "MAIL_DIR": str(workdir / "mail"),
            "LOG_LEVEL": "ERROR",
        }
    )
    import logging

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    from scripts import local_postgres, migrate

    local = local_postgres.start(workdir / "pg", "zentro_bench", cleanup_mode="delete")
    os.environ["DATABASE_URL"] = local.app_url
    migrate.upgrade(local.migration_url, local.app_url)

    import psycopg
    from starlette.testclient import TestClient

    from lib.auth.passwords import PasswordHasher
    from scripts.localvercel.asgi import create_app

    owner = local.migration_url.replace("+psycopg", "")
    email = "known@example.pe"
    org = uuid.uuid4()
    with psycopg.connect(owner) as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org),))
        conn.execute("INSERT INTO organizations (id, name, slug) VALUES (%s, 'Bench', 'bench')", (org,))
        conn.execute(
            "INSERT INTO users (org_id, email, role, status, password_hash) VALUES (%s, %s, 'SELLER', 'active', %s)",
            (org, email, PasswordHasher(os.environ["PASSWORD_PEPPER"], 12).hash(PASSWORD)),
        )
    superuser = local.superuser_url.replace("+psycopg", "")

    client = TestClient(create_app(ROOT), base_url="http://localhost:3000", client=("192.0.2.10", 40000))
    logins = {
        "known email, wrong password": lambda: {"email": email, "password": "wrong-" + secrets.token_hex(4)},
        "unknown email": lambda: {"email": f"nobody-{secrets.token_hex(4)}@example.pe", "password": "wrong-x"},
    }
    resets = {
        "known email": lambda: {"email": email},
        "unknown email": lambda: {"email": f"nobody-{secrets.token_hex(4)}@example.pe"},
    }
    with psycopg.connect(superuser, autocommit=True) as admin:
        login = _alternate(client, admin, "/api/auth/login", logins, args.runs, expect=401)
        reset = _alternate(client, admin, "/api/auth/password_reset", resets, args.reset_runs, expect=202)
    _report("login", login, "known email, wrong password")
    _report("password reset request", reset, "known email")
    local.server.cleanup()  # type: ignore[attr-defined]
    return 0


def _alternate(
    client: Any, admin: Any, path: str, kinds: dict[str, Callable[[], dict[str, str]]], runs: int, *, expect: int
) -> dict[str, list[float]]:
    """Time each kind of request `runs` times, alternating which goes first; two rounds to warm up."""
    timings: dict[str, list[float]] = {name: [] for name in kinds}
    for run in range(runs + 2):
        order = list(kinds) if run % 2 == 0 else list(reversed(kinds))
        for name in order:
            admin.execute("DELETE FROM auth_throttle")
            admin.execute("DELETE FROM password_reset_requests")
            body = kinds[name]()
            start = time.perf_counter()
            response = client.post(path, json=body)
            elapsed = time.perf_counter() - start
            if response.status_code != expect:
                raise RuntimeError(f"{path} {name}: expected {expect}, got {response.status_code}")
            if run >= 2:
                timings[name].append(elapsed)
    return timings


def _report(what: str, timings: dict[str, list[float]], known_kind: str) -> None:
    print(what)
    for name, values in timings.items():
        print(f"  {name:<28} median {statistics.median(values) * 1000:7.2f} ms  over {len(values)} requests")
    ratio = statistics.median(timings["unknown email"]) / statistics.median(timings[known_kind])
    print(f"  ratio unknown / known: {ratio:.3f} (aim: between 0.90 and 1.10)")


if __name__ == "__main__":
    sys.exit(main())
