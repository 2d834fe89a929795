"""What does the duplicate check cost for a phone with thousands of orders that day?

    python -m scripts.bench_duplicates [--orders 5000] [--runs 31] [--clients 8] [--seconds 10]

Starts a throwaway embedded Postgres, migrates it and seeds it as the superuser: an organization
whose one phone (a shop's own number, a reseller) has `--orders` orders in the last 24 hours,
every tenth cancelled, with one to three items each among twenty SKUs, plus 50,000 orders of
10,000 other phones over 30 days; a second organization with another 50,000. When the schema has
`order_phone_skus` (migration 0009) it is filled as the migration fills it. VACUUM ANALYZE.

Then, alternating after warm-up, `--runs` times each (medians), inside one tenant transaction
each, timing the statement alone:

- baseline check: the check as it was before 0009 (every order of the phone in 24 hours joined
  with its items, kept here verbatim) for a new order of the heavy phone with two items, one the
  phone ordered before and one it never did;
- check: lib.orders.store.find_duplicates for the same order, as captures and imports run it;
- the same two for a phone with one order that day (the floor: what a check costs at all).

Then whole captures (lib.orders.service.create, committed): for the heavy phone with the current
check and with the baseline check put in its place, and for a one-order phone. Last, `--clients`
threads, each with its own pooled connection (the pool is widened for this), capture for the
heavy phone for `--seconds`, with each check: captures per second and p50 / p99 latency. Captures
of one organization take turns (lib.orders.store.lock_numbering), so the check's time, taken
under that lock, bounds the organization's capture rate.

Reading it: check / baseline check (aim: well under 0.1 at 5,000 orders) and heavy / one-order
check (aim: about 1, the check no longer grows with the phone's orders). Run it in a tree without
0009 and both checks are the baseline: the ratios are then about 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.db import TenantTx
    from lib.orders.validation import NewOrder
    from lib.tenancy import TenantContext
    from scripts.local_postgres import LocalPostgres

HEAVY_PHONE = "900000000"  # +51900000000
LIGHT_PHONE = "900000002"  # one order in the last 24 hours
OTHER_ORDERS = 50_000
OTHER_PHONES = 10_000
SKUS = 20

# The check before migration 0009, verbatim: the baseline.
BASELINE_SQL = """
    SELECT DISTINCT ON (w.idx) w.idx, o.id
    FROM unnest(CAST(:idx AS integer[]), CAST(:phones AS text[]), CAST(:skus AS text[])) AS w(idx, phone, sku)
    JOIN orders o ON o.org_id = :org AND o.customer_phone = w.phone AND o.created_at > :since
                     AND o.status <> 'cancelled'
    JOIN order_items i ON i.org_id = :org AND i.order_id = o.id AND i.sku = w.sku
    ORDER BY w.idx, o.created_at, o.id
"""

_SEED = """
INSERT INTO customers (org_id, name, phone, document_type, document_number)
SELECT %(org)s, 'Cliente ' || n, '+51' || (900000000 + n)::text, 'DNI', lpad((10000000 + n)::text, 8, '0')
FROM generate_series(0, %(phones)s) AS n;

INSERT INTO orders (org_id, number, customer_id, customer_name, search_name, customer_phone, document_type,
    document_number, department, province, district, ubigeo, address_line, channel, seller_id, status,
    subtotal_cents, total_cents, created_at)
SELECT %(org)s, n, c.id, c.name, lower(c.name), c.phone, 'DNI', c.document_number, 'Lima', 'Lima', 'Lima',
    '150101', 'Av. Arequipa ' || n, 'whatsapp', %(seller)s,
    CASE WHEN n %% 10 = 0 THEN 'cancelled' ELSE 'confirmed' END, 5000, 5000, at
FROM (SELECT n, 0 AS phone, now() - n * interval '17 seconds' AS at FROM generate_series(1, %(heavy)s) AS n
      UNION ALL
      SELECT %(heavy)s + n, 1 + n %% %(phones)s, now() - n * interval '51 seconds'
      FROM generate_series(1, %(others)s) AS n) AS o
JOIN customers c ON c.org_id = %(org)s AND c.phone = '+51' || (900000000 + o.phone)::text;

INSERT INTO order_items (org_id, order_id, position, sku, name, quantity, unit_price_cents, line_total_cents)
SELECT o.org_id, o.id, k, 'SKU-' || lpad(((o.number * 7 + k) %% %(skus)s)::text, 2, '0'), 'Producto', 1, 5000, 5000
FROM orders o CROSS JOIN LATERAL generate_series(1, 1 + (o.number %% 3)::int) AS k
WHERE o.org_id = %(org)s;

UPDATE organizations SET next_order_number = %(heavy)s + %(others)s + 1 WHERE id = %(org)s
"""
# As migration 0009 fills it.
_FILE = """
INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id)
SELECT DISTINCT o.org_id, o.customer_phone, i.sku, o.created_at, o.id
FROM orders o JOIN order_items i ON i.org_id = o.org_id AND i.order_id = o.id
WHERE o.status <> 'cancelled'
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5_000, help="orders of the heavy phone in the last 24 hours")
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)

    from lib.crypto import KeyRing

    workdir = Path(tempfile.mkdtemp(prefix="zentro-bench-duplicates-"))
    os.environ.update(
        {
            "ZENTRO_ENV": "development",
            "BCRYPT_COST": "4",
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


def seed(local: LocalPostgres, heavy: int) -> tuple[uuid.UUID, uuid.UUID, str, bool]:
    """The measured organization, its seller, a SKU the one-order phone ordered that day, and
    whether the schema has order_phone_skus."""
    import psycopg

    with psycopg.connect(local.superuser_url.replace("+psycopg", ""), autocommit=True) as conn:
        orgs = []
        for name in ("Tienda Grande", "Tienda Vecina"):
            org, seller = uuid.uuid4(), uuid.uuid4()
            conn.execute("INSERT INTO organizations (id, name, slug) VALUES (%s, %s, %s)", (org, name, org.hex))
            conn.execute(
                "INSERT INTO users (id, org_id, email, full_name, role, status, password_hash) "
                "VALUES (%s, %s, %s, 'Vendedora', 'SELLER', 'active', 'x')",
                (seller, org, f"seller-{org.hex[:8]}@bench.pe"),
            )
            params = {"org": org, "seller": seller, "heavy": heavy, "others": OTHER_ORDERS}
            for statement in _SEED.split(";\n"):
                conn.execute(statement, {**params, "phones": OTHER_PHONES, "skus": SKUS})
            orgs.append((org, seller))
        [[light_sku]] = conn.execute(
            "SELECT i.sku FROM orders o JOIN order_items i ON i.org_id = o.org_id AND i.order_id = o.id "
            "WHERE o.org_id = %s AND o.customer_phone = %s AND o.created_at > now() - interval '1 day'",
            (orgs[0][0], f"+51{LIGHT_PHONE}"),
        ).fetchall()
        [[indexed]] = conn.execute("SELECT to_regclass('order_phone_skus') IS NOT NULL").fetchall()
        if indexed:
            conn.execute(_FILE)
        for table in ("customers", "orders", "order_items", *(("order_phone_skus",) if indexed else ())):
            conn.execute(f"VACUUM ANALYZE {table}")
    return orgs[0][0], orgs[0][1], str(light_sku), bool(indexed)


def new_order(phone: str, skus: Sequence[str]) -> NewOrder:
    import msgspec

    from lib.orders.schemas import OrderIn
    from lib.orders.validation import new_order as validated
    from tests.order_samples import order_payload

    payload = order_payload(items=[{"sku": sku, "name": sku, "quantity": 1, "unit_price_cents": 5000} for sku in skus])
    payload["customer"]["phone"] = phone
    return validated(msgspec.convert(payload, OrderIn))


def baseline_duplicates(
    tx: TenantTx, orders: Sequence[tuple[uuid.UUID, NewOrder]], now: datetime
) -> list[uuid.UUID | None]:
    """The check before 0009: BASELINE_SQL for the orders already stored (this benchmark's orders
    come one at a time, so there is no batch to look at)."""
    from sqlalchemy import text

    idx, phones, skus = [], [], []
    for index, (_, order) in enumerate(orders):
        for item in order.items:
            idx.append(index)
            phones.append(order.customer.phone)
            skus.append(item.sku)
    params = {"org": tx.ctx.org_id, "since": now - timedelta(hours=24), "idx": idx, "phones": phones, "skus": skus}
    found = {row.idx: row.id for row in tx.conn.execute(text(BASELINE_SQL), params)}
    return [found.get(index) for index in range(len(orders))]


Check = Callable[["TenantTx", Sequence[tuple[uuid.UUID, "NewOrder"]], datetime], list[uuid.UUID | None]]


def timed_check(ctx: TenantContext, check: Check, order: NewOrder) -> tuple[float, uuid.UUID | None]:
    from lib.db import tenant_transaction

    with tenant_transaction(ctx) as tx:
        start = time.perf_counter()
        [found] = check(tx, [(uuid.uuid4(), order)], datetime.now(UTC))
        return time.perf_counter() - start, found


def capture(ctx: TenantContext, check: Check, phone: str) -> float:
    """One capture through lib.orders.service.create with `check` as the duplicate check."""
    import msgspec

    from lib.db import tenant_transaction
    from lib.orders import service, store
    from lib.orders.schemas import OrderIn
    from tests.order_samples import order_payload

    payload = order_payload(items=[{"sku": "SKU-07", "name": "Producto", "quantity": 1, "unit_price_cents": 5000}])
    payload["customer"]["phone"] = phone
    data = msgspec.convert(payload, OrderIn)
    store.find_duplicates = check  # type: ignore[assignment]  # the one the service calls
    start = time.perf_counter()
    with tenant_transaction(ctx) as tx:
        service.create(tx, data, datetime.now(UTC))
    return time.perf_counter() - start


def load(ctx: TenantContext, check: Check, clients: int, seconds: float) -> tuple[float, float, float]:
    """`clients` threads capturing for the heavy phone: captures per second, p50 and p99 (ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < stop:
            took = capture(ctx, check, HEAVY_PHONE)
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


def run(args: argparse.Namespace, local: LocalPostgres) -> int:
    from lib.db import engine
    from lib.orders import store
    from lib.tenancy import Actor, RequestMeta, Role, TenantContext

    # One connection per client thread, as that many function instances would each have.
    engine.POOL_POLICY = dataclasses.replace(engine.POOL_POLICY, max_idle=args.clients, max_open=args.clients)
    started = time.perf_counter()
    org, seller, light_sku, indexed = seed(local, args.orders)
    print(f"seeded in {time.perf_counter() - started:.0f} s; order_phone_skus (0009): {'yes' if indexed else 'no'}")
    ctx = TenantContext(
        org, Actor(seller, Role.SELLER), RequestMeta(request_id="bench", client_ip=None, user_agent=None)
    )
    current: Check = store.find_duplicates
    checks: dict[str, Check] = {"baseline check": baseline_duplicates, "check": current}
    orders = {
        "heavy": new_order(HEAVY_PHONE, ["SKU-07", "NEVER-SOLD"]),
        "one-order": new_order(LIGHT_PHONE, [light_sku]),
    }

    timings: dict[tuple[str, str], list[float]] = {(c, p): [] for c in checks for p in orders}
    answers: dict[tuple[str, str], set[uuid.UUID | None]] = {key: set() for key in timings}
    for round_number in range(args.runs + 3):  # three warm-up rounds
        for check_name in list(checks)[round_number % 2 :] + list(checks)[: round_number % 2]:
            for phone, order in orders.items():
                took, found = timed_check(ctx, checks[check_name], order)
                answers[check_name, phone].add(found)
                if round_number >= 3:
                    timings[check_name, phone].append(took)
    for phone in orders:
        if answers["baseline check", phone] != answers["check", phone] or None in answers["check", phone]:
            print(f"MISMATCH for the {phone} phone: {answers}")
            return 1

    print(f"\nduplicate check, {args.runs} runs each after warm-up; medians (the same duplicate found by both)")
    medians = {key: statistics.median(values) * 1000 for key, values in timings.items()}
    for (check_name, phone), ms in medians.items():
        orders_that_day = args.orders if phone == "heavy" else 1
        print(f"{check_name:<15} {phone:<10} ({orders_that_day:>6,} orders that day) {ms:9.3f} ms")
    print(f"check / baseline check, heavy phone: {medians['check', 'heavy'] / medians['baseline check', 'heavy']:.4f}")
    print(f"heavy / one-order phone, check: {medians['check', 'heavy'] / medians['check', 'one-order']:.2f}")
    print(
        "heavy / one-order phone, baseline check: "
        f"{medians['baseline check', 'heavy'] / medians['baseline check', 'one-order']:.1f}"
    )

    captures: dict[str, list[float]] = {"heavy, baseline check": [], "heavy, check": [], "one-order, check": []}
    for round_number in range(args.runs + 3):
        for name in captures:
            check = baseline_duplicates if "baseline" in name else current
            took = capture(ctx, check, HEAVY_PHONE if name.startswith("heavy") else LIGHT_PHONE)
            if round_number >= 3:
                captures[name].append(took)
    print(f"\ncapture (service.create, committed), {args.runs} runs each; medians")
    capture_ms = {name: statistics.median(values) * 1000 for name, values in captures.items()}
    for name, ms in capture_ms.items():
        print(f"{name:<22} {ms:9.2f} ms")
    ratio = capture_ms["heavy, check"] / capture_ms["heavy, baseline check"]
    print(f"heavy with check / heavy with baseline check: {ratio:.3f}")

    print(f"\n{args.clients} clients capturing for the heavy phone, {args.seconds:.0f} s each")
    rates = {}
    for name, check in (("baseline check", baseline_duplicates), ("check", current)):
        rate, p50, p99 = load(ctx, check, args.clients, args.seconds)
        rates[name] = rate
        print(f"{name:<15} {rate:7.1f} captures/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
    print(f"captures/s, check / baseline check: {rates['check'] / rates['baseline check']:.1f}x")
    store.find_duplicates = current  # type: ignore[assignment]
    return 0


if __name__ == "__main__":
    sys.exit(main())
