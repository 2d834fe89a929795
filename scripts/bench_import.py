"""How fast does a CSV import go, against copying the same rows raw into Postgres?

    python -m scripts.bench_import [--rows 10000] [--runs 5]

Starts a throwaway embedded Postgres, migrates it, creates an organization and its ADMIN, and
builds a CSV file of `--rows` rows in the format a merchant's spreadsheet export has (one row
per item, one to three items per order, Spanish headers; see the README). Then, alternating,
`--runs` times each:

- import: POST /api/orders/imports through the local router, in process, timed inside the ASGI
  app (decoding, checking every row, customers, orders, items, name words, the duplicate
  check, audit events, one transaction). Each run imports into a fresh organization, so every
  run creates all its orders;
- dry run: the same request with ?dry_run=true (everything but the writes);
- raw COPY: the same bytes through `COPY ... FROM STDIN (FORMAT csv, HEADER)` into an unlogged
  table of text columns, as the superuser: the floor of getting these rows into Postgres at
  all, without a single check.

Prints the medians as rows per second (aim for the import: at least 5,000 rows/s for 10,000
rows) and import / COPY as a ratio of times.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.local_postgres import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Quinoa-Ceviche-Arequipa-71"  # noqa: S105 - throwaway accounts in a throwaway database

FIRST = ("María", "José", "Rosa", "Luis", "Carmen", "Ángel", "Lucía", "Víctor", "Zoila", "Noemí")
LAST = ("Quispe", "Flores", "Huamán", "Mamani", "Chávez", "Rojas", "Díaz", "Ñahui", "Córdova", "Inga")
DISTRICTS = (("150122", "Miraflores"), ("150140", "Santiago de Surco"), ("150132", "San Juan de Lurigancho"))
PRODUCTS = (("POL-M", "Polo algodón pima M", "49.90"), ("CAS-L", "Casaca cortavientos L", "129.90"))


def build_csv(rows: int, seed: int = 2026) -> bytes:
    """`rows` item rows of about rows / 2 orders, as a spreadsheet would export them."""
    from tests.order_samples import CSV_HEADER, csv_file, csv_row

    rng = Random(seed)  # noqa: S311 - reproducible fake data
    lines: list[dict[str, str]] = []
    order = 0
    while len(lines) < rows:
        order += 1
        ubigeo, district = rng.choice(DISTRICTS)
        common = {
            "cliente": f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}",
            "telefono": f"9{(order * 7919) % 100_000_000:08d}",
            "documento": f"{rng.randrange(10_000_000, 80_000_000)}",
            "ubigeo": ubigeo,
            "distrito": district,
            "canal": rng.choice(("WhatsApp", "Instagram", "Tienda web", "Facebook")),
        }
        for _ in range(min(rng.choice((1, 2, 2, 3)), rows - len(lines))):
            sku, name, price = rng.choice(PRODUCTS)
            lines.append(csv_row(f"SHEET-{order:06d}", **common, sku=sku, producto=name, precio=price))
    return csv_file(lines, header=CSV_HEADER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    from lib.crypto import KeyRing

    workdir = Path(tempfile.mkdtemp(prefix="zentro-bench-import-"))
    os.environ.update(
        {
            "ZENTRO_ENV": "development",
            "BCRYPT_COST": "4",  # logins are not measured
            "PASSWORD_PEPPER": secrets.token_urlsafe(32),
            "ENCRYPTION_KEYS": KeyRing.generate_value(1),
            "MAIL_DIR": str(workdir / "mail"),
            "LOG_LEVEL": "WARNING",
        }
    )
    import logging

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from scripts import local_postgres, migrate

    local = local_postgres.start(workdir / "pg", "zentro_bench", cleanup_mode="delete")
    try:
        os.environ["DATABASE_URL"] = local.app_url
        migrate.upgrade(local.migration_url, local.app_url)
        return run(args, local)
    finally:
        local.server.cleanup()  # type: ignore[attr-defined]
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, local: LocalPostgres) -> int:
    import psycopg
    from starlette.testclient import TestClient

    from lib.auth.passwords import PasswordHasher
    from scripts.bench_orders import ServerTimer
    from scripts.localvercel.asgi import create_app

    content = build_csv(args.rows)
    header = content.split(b"\r\n", 1)[0].decode()
    columns = ", ".join(f'"{name}" text' for name in header.split(","))
    superuser = psycopg.connect(local.superuser_url.replace("+psycopg", ""), autocommit=True)
    superuser.execute(f"CREATE UNLOGGED TABLE copy_baseline ({columns})")
    password = PasswordHasher(os.environ["PASSWORD_PEPPER"], 4).hash(PASSWORD)
    timer = ServerTimer(create_app(ROOT))

    def fresh_admin() -> str:
        org, email = uuid.uuid4(), f"admin-{uuid.uuid4().hex[:8]}@bench.pe"
        with superuser.transaction():
            superuser.execute(
                "INSERT INTO organizations (id, name, slug) VALUES (%s, 'Importadora', %s)", (org, f"imp-{org.hex}")
            )
            superuser.execute(
                "INSERT INTO users (org_id, email, full_name, role, status, password_hash) "
                "VALUES (%s, %s, 'Admin', 'ADMIN', 'active', %s)",
                (org, email, password),
            )
        return email

    timings: dict[str, list[float]] = {"import": [], "dry run": [], "raw COPY": []}
    created: list[int] = []
    with TestClient(timer, base_url="http://localhost:3000") as client:
        for run_number in range(args.runs + 1):  # the first round warms up and is not counted
            kinds = ["import", "dry run", "raw COPY"]
            for kind in kinds[run_number % 3 :] + kinds[: run_number % 3]:
                if kind == "raw COPY":
                    superuser.execute("TRUNCATE copy_baseline")
                    start = time.perf_counter()
                    with (
                        superuser.cursor() as cur,
                        cur.copy("COPY copy_baseline FROM STDIN (FORMAT csv, HEADER true)") as copy,
                    ):
                        copy.write(content)
                    elapsed = time.perf_counter() - start
                else:
                    response = client.post("/api/auth/login", json={"email": fresh_admin(), "password": PASSWORD})
                    if response.status_code != 200:
                        raise RuntimeError(f"login: {response.status_code} {response.text}")
                    query = "?dry_run=true" if kind == "dry run" else ""
                    response = client.post(
                        f"/api/orders/imports{query}", content=content, headers={"Content-Type": "text/csv"}
                    )
                    if response.status_code != 200 or response.json()["error_count"]:
                        raise RuntimeError(f"{kind}: {response.status_code} {response.text[:500]}")
                    elapsed = timer.last
                    if kind == "import":
                        created.append(response.json()["created"])
                if run_number:
                    timings[kind].append(elapsed)

    print(
        f"CSV import benchmark: {args.rows:,} rows ({created[0]:,} orders, {len(content) / 1e6:.2f} MB), "
        f"{args.runs} runs each after one warm-up round; medians"
    )
    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    for kind, seconds in medians.items():
        print(f"{kind:<10} {seconds * 1000:9.1f} ms  {args.rows / seconds:11,.0f} rows/s")
    print(f"import / raw COPY time: {medians['import'] / medians['raw COPY']:.1f}x")
    verdict = "met" if args.rows / medians["import"] >= 5000 else "MISSED"
    print(f"aim: import at least 5,000 rows/s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
