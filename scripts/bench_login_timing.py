"""Does a failed login take as long for an unknown email as for a wrong password?

    python -m scripts.bench_login_timing [--runs 41]

Starts a throwaway embedded Postgres, creates an account, and times POST /api/auth/login
through the local router (in-process, so only server time is measured) at the production
bcrypt cost (12). The kinds of failure alternate within one run, and the throttle table is
emptied before each attempt (untimed) so that no attempt is answered early by a lock.
Prints the median of each kind and the ratio unknown / known-wrong-password (aim: within 10%).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Quinoa-Ceviche-Arequipa-71"  # noqa: S105 - a throwaway account in a throwaway database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=41)
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
    kinds = {
        "known email, wrong password": lambda: {"email": email, "password": "wrong-" + secrets.token_hex(4)},
        "unknown email": lambda: {"email": f"nobody-{secrets.token_hex(4)}@example.pe", "password": "wrong-x"},
    }
    timings: dict[str, list[float]] = {name: [] for name in kinds}
    with psycopg.connect(superuser, autocommit=True) as admin:
        for run in range(args.runs + 2):  # two warm-up rounds, not counted
            order = list(kinds) if run % 2 == 0 else list(reversed(kinds))
            for name in order:
                admin.execute("DELETE FROM auth_throttle")
                body = kinds[name]()
                start = time.perf_counter()
                response = client.post("/api/auth/login", json=body)
                elapsed = time.perf_counter() - start
                if response.status_code != 401:
                    raise RuntimeError(f"{name}: expected 401, got {response.status_code}")
                if run >= 2:
                    timings[name].append(elapsed)

    known = statistics.median(timings["known email, wrong password"]) * 1000
    unknown = statistics.median(timings["unknown email"]) * 1000
    for name, values in timings.items():
        print(f"{name:<28} median {statistics.median(values) * 1000:7.1f} ms  over {len(values)} attempts")
    print(f"ratio unknown / known-wrong-password: {unknown / known:.3f} (aim: between 0.90 and 1.10)")
    local.server.cleanup()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
