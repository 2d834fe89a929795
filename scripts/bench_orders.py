"""Does the order list stay fast at a million orders, and what does the endpoint add to its query?

    python -m scripts.bench_orders [--small 10000] [--large 1000000] [--orgs 100] [--runs 51] [--latency-ms 0]

Starts a throwaway embedded Postgres, migrates it and seeds it with COPY as the superuser (row
security does not apply to it; every CHECK and foreign key does): `--orgs` organizations, each
with an ADMIN, three SELLERs and two LOGISTICS riders, about one customer per four orders
(Peruvian mobile numbers, DNIs, accented names) and orders from the last 365 days over every
status, eight channels, twenty Lima districts, sellers, riders and carriers, with one to three
items each and the words and keys of the customer's name that name search reads (order_name_words
and order_name_keys, as lib.orders.store writes them). One organization holds a quarter of all
orders, the others share the rest evenly.
It measures at `--small` orders, then grows the same organizations to `--large` orders (the
large one keeps its quarter) and measures again; each size is VACUUM ANALYZEd and checkpointed
first. The whole run takes a few minutes at a million orders.

Measured in the large organization (the worst case), signed in as its ADMIN, for pages of 50:
status, district, seller, status within a 30-day range, a common surname, a rare name (a first
name and a surname: a few dozen orders in a million), the commonest first name with the
commonest surname, and page 2 of the status filter through
page 1's cursor.

- endpoint: time spent inside the function's ASGI app (api/orders/index.py) for GET /api/orders
  (middleware, routing, the session, query validation, the page read, serialisation), in
  process. Requests reach it through the local router, as Vercel routes them, but the router's
  own time is not counted: on Vercel, routing and vercel.json's headers happen outside the
  function. The app is driven the way a server drives it, on an event loop of this thread
  (AsgiClient); the list handler reads on that loop, as in production. Starlette's TestClient
  is not used: it runs the app on a portal thread and its hand-offs added 0.4-0.6 ms inside the
  app's own clock;
- raw: the same SQL text and parameters the endpoint sends (lib.orders.store.page_statement with
  views.SUMMARY_COLUMNS and limit 51, as lib.orders.service.page builds it, compiled as
  lib.db.pipeline compiles it), run as ONE statement on a psycopg connection of the application
  role whose session has app.org_id set once (and, for name searches, plans each execution, as
  the endpoint asks). That is the cheapest way to read the page under row-level security, so it
  is the baseline of the aim: anything more is the endpoint's cost;
- raw tx (no aim, to see where the time goes): the statement as production sends it, BEGIN READ
  ONLY + set_config + query + COMMIT pipelined in one round trip.

All three go through the same RoundTripProxy (scripts/roundtrips.py), so `--latency-ms`, added to
every round trip to model the Vercel-to-Neon network, applies to each. Samples alternate between
the three after warm-up rounds; medians are reported. The baseline connections keep psycopg's
defaults, as the app's pooled ones do: a statement run five times on a connection is prepared,
and Postgres then runs a generic plan (one made without the values) whenever it does not
estimate it costlier.

Reading the output, per size: per filter the rows returned, the medians, endpoint / raw (aim: at
most 1.5) and the database round trips per endpoint request (aim: at most 2), counted in steady
state with the pool's connections open and the session remembered by the instance (the first
request with a cookie the instance has not resolved, which looks the session up first, and the
first request on new pools, which connects, are counted once apart). Then endpoint 1M / 10k
per filter (aim: at most 1.3), and the plans of each page at the large size as the application
role with app.org_id set: the generic plan under EXPLAIN (ANALYZE, BUFFERS) in full, the custom
plan in one line, checked to read orders through an index and never with a Seq Scan, with the
rows read only to be filtered out. A missed aim is
reported, not an error: the exit status is non-zero only when something fails.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    import psycopg
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from lib.tenancy import TenantContext
    from scripts.local_postgres import LocalPostgres
    from scripts.roundtrips import ProxyProcess

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Quinoa-Ceviche-Arequipa-71"  # noqa: S105 - throwaway accounts in a throwaway database
DATABASE = "zentro_bench"
ORDERS_FUNCTION = "api/orders/index"  # GET /api/orders
LIMIT = 50
WARMUP_ROUNDS = 8  # more than psycopg's prepare threshold (5): preparing costs a round trip
LARGE_SHARE = 4  # the large organization holds 1/LARGE_SHARE of all orders
BATCH = 20_000  # orders per COPY
YEAR_SECONDS = 365 * 86400
SEARCHED_SURNAME = "chavez"  # typed without the accent, as people do: 'Chávez' is stored folded
RARE_NAME = "zoila inga"  # a first name and a rare surname: a few dozen orders in a million
COMMON_NAME = "maria quispe"  # the commonest first name and surname: two long lists, fewer orders having both

FIRST_NAMES = (
    "María", "José", "Juan", "Rosa", "Luis", "Carmen", "Carlos", "Ana", "Jorge", "Julia", "Miguel", "Lucía",
    "Víctor", "Elena", "César", "Sofía", "Jesús", "Patricia", "Raúl", "Milagros", "Ángel", "Flor", "Óscar",
    "Yolanda", "Martín", "Gladys", "Renzo", "Nelly", "Iván", "Zoila", "Wilmer", "Noemí",
)  # fmt: skip
# Ranked by how common they are; drawn with Zipf-like weights (Quispe is everywhere in Peru).
SURNAMES = (
    "Quispe", "Flores", "Sánchez", "Rodríguez", "García", "Huamán", "Mamani", "Chávez", "Rojas", "Vásquez",
    "Ramírez", "Díaz", "Torres", "Mendoza", "López", "Castillo", "Gonzales", "Pérez", "Ríos", "Espinoza",
    "Vargas", "Ramos", "Fernández", "Cruz", "Gutiérrez", "Romero", "Salazar", "Reyes", "Medina", "Álvarez",
    "Ccori", "Condori", "Apaza", "Ticona", "Paredes", "Córdova", "Herrera", "Cáceres", "Aguilar", "Soto",
    "Palomino", "Zúñiga", "Valdivia", "Ñahui", "Villanueva", "Cárdenas", "Benites", "Chumpitaz", "Yupanqui", "Inga",
)  # fmt: skip
SURNAME_CUM = list(itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(SURNAMES))))
# (ubigeo, district, latitude, longitude, weight): twenty districts of Lima province.
DISTRICTS = (
    ("150132", "San Juan de Lurigancho", -11.98, -77.00, 12),
    ("150135", "San Martín de Porres", -12.00, -77.08, 8),
    ("150140", "Santiago de Surco", -12.14, -76.99, 8),
    ("150103", "Ate", -12.03, -76.92, 7),
    ("150117", "Los Olivos", -11.97, -77.07, 6),
    ("150142", "Villa El Salvador", -12.21, -76.94, 6),
    ("150133", "San Juan de Miraflores", -12.16, -76.97, 5),
    ("150110", "Comas", -11.94, -77.05, 5),
    ("150143", "Villa María del Triunfo", -12.16, -76.93, 5),
    ("150101", "Lima", -12.05, -77.04, 5),
    ("150122", "Miraflores", -12.12, -77.03, 5),
    ("150136", "San Miguel", -12.08, -77.09, 4),
    ("150115", "La Victoria", -12.07, -77.02, 4),
    ("150108", "Chorrillos", -12.17, -77.02, 4),
    ("150114", "La Molina", -12.08, -76.94, 3),
    ("150130", "San Borja", -12.10, -77.00, 3),
    ("150113", "Jesús María", -12.07, -77.05, 3),
    ("150141", "Surquillo", -12.11, -77.02, 3),
    ("150131", "San Isidro", -12.10, -77.04, 2),
    ("150104", "Barranco", -12.15, -77.02, 2),
)
DISTRICT_CUM = list(itertools.accumulate(d[4] for d in DISTRICTS))
FILTERED_UBIGEO = "150122"  # Miraflores, a mid-sized district
STREETS = (
    "Av. Los Próceres", "Jr. Huallaga", "Av. Arequipa", "Calle Las Begonias", "Av. Túpac Amaru", "Jr. Junín",
    "Av. La Marina", "Calle Los Pinos", "Av. Grau", "Pasaje San Martín", "Av. Universitaria", "Jr. Ayacucho",
)  # fmt: skip
REFERENCES = ("", "", "", "Frente al parque", "Puerta verde", "Al costado de la bodega", "Segundo piso")
# (status, weight, version, delivery_outcome, delivery_attempts, status_reason, has_courier)
STATUSES = (
    ("pending", 9, 1, None, 0, None, False),
    ("confirmed", 9, 2, None, 0, None, False),
    ("preparing", 6, 3, None, 0, None, False),
    ("ready", 5, 4, None, 0, None, False),
    ("dispatched", 8, 5, None, 0, None, True),
    ("delivered", 48, 6, "delivered", 1, None, True),
    ("failed_attempt", 3, 6, "failed", 1, "No contestó el teléfono", True),
    ("rescheduled", 3, 7, "failed", 1, "Cliente pidió otra fecha", True),
    ("returned", 3, 8, "returned", 2, "Dirección no encontrada", True),
    ("cancelled", 6, 2, None, 0, "Cliente desistió por WhatsApp", False),
)
STATUS_CUM = list(itertools.accumulate(s[1] for s in STATUSES))
CHANNELS = ("whatsapp", "instagram", "facebook", "tiktok", "web_store", "marketplace", "phone", "other")
CHANNEL_CUM = list(itertools.accumulate((45, 15, 12, 8, 10, 4, 4, 2)))
CARRIERS = ("olva", "shalom", "urbaner", "chazki")
SLOTS = ("09:00-13:00", "13:00-17:00", "17:00-21:00", None)
PRODUCTS = tuple(
    (f"{code}-{size}", f"{name} talla {size}", price + step * 500)
    for code, name, price in (
        ("POL", "Polo algodón pima", 4990),
        ("CAS", "Casaca cortavientos", 12990),
        ("PAN", "Pantalón jogger", 7990),
        ("ZAP", "Zapatilla urbana", 15990),
        ("VES", "Vestido de verano", 8990),
        ("CHO", "Chompa de alpaca", 18990),
        ("GOR", "Gorra bordada", 2990),
        ("MOC", "Mochila escolar", 9990),
    )
    for step, size in enumerate(("S", "M", "L", "XL"))
)
SHIPPING = (0, 0, 800, 1000, 1200, 1500)

ORDER_COLUMNS = (
    "id, org_id, number, external_ref, customer_id, customer_name, search_name, customer_phone, document_type, "
    "document_number, customer_email, department, province, district, ubigeo, address_line, address_reference, "
    "latitude, longitude, delivery_date, delivery_slot, channel, seller_id, rider_id, carrier, status, "
    "payment_status, delivery_outcome, delivery_attempts, collect_on_delivery, currency, subtotal_cents, "
    "discount_cents, shipping_cents, total_cents, notes, status_reason, version, created_at, updated_at, "
    "status_changed_at"
)
ITEM_COLUMNS = "org_id, order_id, position, sku, name, quantity, unit_price_cents, line_total_cents"
CUSTOMER_COLUMNS = "id, org_id, name, phone, document_type, document_number, email, created_at, updated_at"
TENANT_READ_CONTEXT = (  # as lib.db.pipeline.tenant_read sends it
    "SELECT set_config('app.org_id', %(org)s, true), set_config('statement_timeout', %(timeout)s, true), "
    "set_config('plan_cache_mode', %(plans)s, true)"
)


# --- seeding -------------------------------------------------------------------------------------

type Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    search: str
    phone: str
    dni: str
    email: str | None
    ubigeo: str
    district: str
    line: str
    reference: str
    latitude: float | None
    longitude: float | None
    words: tuple[str, ...]  # what name search looks up (lib.orders.validation.name_words)
    keys: tuple[str, ...]  # and the keys it walks (lib.orders.name_search.name_keys)


@dataclass
class Org:
    index: int
    id: uuid.UUID
    admin_id: uuid.UUID
    admin_email: str
    sellers: list[uuid.UUID]
    riders: list[uuid.UUID]
    customers: list[Customer] = field(default_factory=list)
    orders: int = 0  # orders seeded so far, numbered 1..orders

    @property
    def large(self) -> bool:
        return self.index == 0


def shares(total: int, orgs: int) -> list[int]:
    """Orders per organization: the first holds a quarter, the others split the rest evenly."""
    large = total // LARGE_SHARE
    rest, extra = divmod(total - large, orgs - 1)
    return [large] + [rest + (1 if i < extra else 0) for i in range(orgs - 1)]


def new_id(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def create_orgs(conn: psycopg.Connection[Any], count: int, password_hash: str) -> list[Org]:
    orgs: list[Org] = []
    users: Rows = []
    now = datetime.now(UTC)
    for index in range(count):
        org = Org(
            index=index,
            id=uuid.uuid4(),
            admin_id=uuid.uuid4(),
            admin_email=f"admin@org{index:03d}.bench.pe",
            sellers=[uuid.uuid4() for _ in range(3)],
            riders=[uuid.uuid4() for _ in range(2)],
        )
        orgs.append(org)
        people = [(org.admin_id, "admin", "ADMIN", "Administradora General")]
        people += [(user, f"ventas{n}", "SELLER", f"Vendedor {n}") for n, user in enumerate(org.sellers, 1)]
        people += [(user, f"reparto{n}", "LOGISTICS", f"Repartidor {n}") for n, user in enumerate(org.riders, 1)]
        for user_id, mailbox, role, full_name in people:
            email = f"{mailbox}@org{index:03d}.bench.pe"
            users.append((user_id, org.id, email, full_name, role, "active", "es", password_hash, now))
    with conn.cursor() as cur:
        with cur.copy("COPY organizations (id, name, slug, created_at) FROM STDIN") as copy:
            for org in orgs:
                name = "Moda Andina (grande)" if org.large else f"Tienda {org.index:03d}"
                copy.write_row((org.id, name, f"bench-{org.index:03d}", now - timedelta(days=400)))
        columns = "id, org_id, email, full_name, role, status, language, password_hash, password_changed_at"
        with cur.copy(f"COPY users ({columns}) FROM STDIN") as copy:
            for row in users:
                copy.write_row(row)
    conn.commit()
    return orgs


def add_customers(org: Org, count: int, rng: Random, now: datetime) -> Rows:
    from lib.orders.name_search import name_keys
    from lib.orders.validation import name_words, search_name

    rows: Rows = []
    for k in range(len(org.customers), count):
        first = rng.choice(FIRST_NAMES)
        paternal, maternal = rng.choices(SURNAMES, cum_weights=SURNAME_CUM, k=2)
        name = f"{first} {paternal} {maternal}"
        ubigeo, district, lat, lon, _ = rng.choices(DISTRICTS, cum_weights=DISTRICT_CUM)[0]
        located = rng.random() < 0.7
        words = name_words(name)
        email = None
        if rng.random() < 0.3:
            email = f"{search_name(first)}.{search_name(paternal)}{k}@gmail.com"
        customer = Customer(
            id=new_id(rng),
            name=name,
            search=search_name(name),
            # 7919 is prime to 10^8: k -> k * 7919 mod 10^8 never repeats a number within an organization
            phone=f"+519{(k * 7919 + org.index * 104_729) % 100_000_000:08d}",
            dni=f"{rng.randrange(10_000_000, 80_000_000):08d}",
            email=email,
            ubigeo=ubigeo,
            district=district,
            line=f"{rng.choice(STREETS)} {rng.randrange(100, 3000)}",
            reference=rng.choice(REFERENCES),
            latitude=round(lat + rng.uniform(-0.015, 0.015), 6) if located else None,
            longitude=round(lon + rng.uniform(-0.015, 0.015), 6) if located else None,
            words=tuple(words),
            keys=tuple(name_keys(words)),
        )
        org.customers.append(customer)
        created = now - timedelta(seconds=rng.random() * YEAR_SECONDS)
        rows.append((customer.id, org.id, name, customer.phone, "DNI", customer.dni, email, created, created))
    return rows


def order_batches(org: Org, count: int, rng: Random, now: float) -> Iterator[tuple[Rows, Rows, Rows, Rows]]:
    """`count` new orders for `org` (numbered after its last one, in creation order): order rows,
    item rows, name-word rows and name-key rows."""
    ages = sorted((rng.random() * YEAR_SECONDS for _ in range(count)), reverse=True)
    org_id = str(org.id)
    sellers = [str(s) for s in org.sellers]
    riders = [str(r) for r in org.riders]
    lima = timedelta(hours=-5)
    for start in range(0, count, BATCH):
        chunk = ages[start : start + BATCH]
        n = len(chunk)
        statuses = rng.choices(STATUSES, cum_weights=STATUS_CUM, k=n)
        channels = rng.choices(CHANNELS, cum_weights=CHANNEL_CUM, k=n)
        customers = rng.choices(org.customers, k=n)
        seller_ids = rng.choices(sellers, k=n)
        orders: Rows = []
        items: Rows = []
        words: Rows = []
        keys: Rows = []
        for age, status, channel, who, seller in zip(chunk, statuses, channels, customers, seller_ids, strict=True):
            org.orders += 1
            number = org.orders
            order_id = new_id(rng)
            created = datetime.fromtimestamp(now - age, UTC)
            changed = created + timedelta(seconds=min(age, rng.random() * 3 * 86400))
            name, _, version, outcome, attempts, reason, couriered = status
            subtotal = 0
            for position in range(1, 1 + rng.choices((1, 2, 3), cum_weights=(50, 85, 100))[0]):
                sku, product, price = rng.choice(PRODUCTS)
                quantity = rng.choices((1, 2, 3), cum_weights=(70, 92, 100))[0]
                subtotal += quantity * price
                items.append((org_id, order_id, position, sku, product, quantity, price, quantity * price))
            words.extend((org_id, order_id, word) for word in who.words)
            keys.extend((org_id, key, created, order_id) for key in who.keys)
            discount = subtotal // 10 if rng.random() < 0.15 else 0
            shipping = rng.choice(SHIPPING)
            collect = rng.random() < 0.6
            if name == "delivered":
                payment = "paid"
            elif collect or name in ("cancelled", "returned"):
                payment = "unpaid"
            else:
                payment = rng.choices(("paid", "partially_paid", "unpaid"), cum_weights=(80, 90, 100))[0]
            rider = carrier = None
            if couriered or (name == "ready" and rng.random() < 0.3):
                if rng.random() < 0.85:
                    rider = rng.choice(riders)
                else:
                    carrier = rng.choice(CARRIERS)
            delivery = None
            if name != "pending" or rng.random() < 0.5:
                delivery = (created + lima).date() + timedelta(days=rng.randrange(0, 4))
            orders.append(
                (
                    order_id,
                    org_id,
                    number,
                    f"shop-{number}" if channel == "web_store" else None,
                    who.id,
                    who.name,
                    who.search,
                    who.phone,
                    "DNI",
                    who.dni,
                    who.email,
                    "Lima",
                    "Lima",
                    who.district,
                    who.ubigeo,
                    who.line,
                    who.reference,
                    who.latitude,
                    who.longitude,
                    delivery,
                    rng.choice(SLOTS) if delivery else None,
                    channel,
                    seller,
                    rider,
                    carrier,
                    name,
                    payment,
                    outcome,
                    attempts,
                    collect,
                    "PEN",
                    subtotal,
                    discount,
                    shipping,
                    subtotal - discount + shipping,
                    "",
                    reason,
                    version,
                    created,
                    changed,
                    changed,
                )
            )
        yield orders, items, words, keys


def copy_rows(cur: psycopg.Cursor[Any], target: str, rows: Rows) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@dataclass
class Seeded:
    orders: int = 0
    items: int = 0
    customers: int = 0
    seconds: float = 0.0
    vacuum_seconds: float = 0.0


def grow(conn: psycopg.Connection[Any], orgs: list[Org], total: int, rng: Random) -> Seeded:
    """Add orders (and customers) until the organizations hold `total` orders in the agreed shape."""
    started = time.perf_counter()
    seeded = Seeded()
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        for org, target in zip(orgs, shares(total, len(orgs)), strict=True):
            if target <= org.orders:
                continue
            customer_rows = add_customers(org, max(1, target // 4), rng, now)
            copy_rows(cur, f"customers ({CUSTOMER_COLUMNS})", customer_rows)
            seeded.customers += len(customer_rows)
            for orders, items, words, keys in order_batches(org, target - org.orders, rng, now.timestamp()):
                copy_rows(cur, f"orders ({ORDER_COLUMNS})", orders)
                copy_rows(cur, f"order_items ({ITEM_COLUMNS})", items)
                copy_rows(cur, "order_name_words (org_id, order_id, word)", words)
                copy_rows(cur, "order_name_keys (org_id, key, created_at, order_id)", keys)
                seeded.orders += len(orders)
                seeded.items += len(items)
            cur.execute("UPDATE organizations SET next_order_number = %s WHERE id = %s", (org.orders + 1, org.id))
            conn.commit()
    seeded.seconds = time.perf_counter() - started
    started = time.perf_counter()
    conn.autocommit = True
    try:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")  # not during the measurement
    finally:
        conn.autocommit = False
    seeded.vacuum_seconds = time.perf_counter() - started
    return seeded


# --- measuring -----------------------------------------------------------------------------------


class ServerTimer:
    """Wraps an ASGI app; `last` is how long its latest request spent inside it.

    The time its messages spend in the `send` it was given is not the function's: that is the
    local router adding vercel.json's route headers (Vercel's edge does it outside the function)
    and the benchmark's client collecting the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outside = 0.0

        async def timed_send(message: Message) -> None:
            nonlocal outside
            sent = time.perf_counter()
            try:
                await send(message)
            finally:
                outside += time.perf_counter() - sent

        start = time.perf_counter()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.last = time.perf_counter() - start - outside


class AsgiClient:
    """Calls an ASGI app as a server does: one scope, the request body, the response collected from
    `send`, on an event loop of this thread that lives as long as the client. Keeps cookies."""

    def __init__(self, app: ASGIApp, client_address: tuple[str, int]) -> None:
        self.app = app
        self.client_address = client_address
        self.cookies: dict[str, str] = {}
        self._runner = asyncio.Runner()

    def close(self) -> None:
        self._runner.close()

    def request(self, method: str, target: str, payload: Any = None) -> tuple[int, bytes]:
        return self._runner.run(self._request(method, target, payload))

    async def _request(self, method: str, target: str, payload: Any) -> tuple[int, bytes]:
        path, _, query = target.partition("?")
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = [(b"host", b"localhost:3000"), (b"user-agent", b"bench-orders")]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if self.cookies:
            headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()).encode()))
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": self.client_address,
            "server": ("localhost", 3000),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0
        chunks: list[bytes] = []

        async def receive() -> Message:
            if pending:
                return pending.pop()
            await asyncio.Event().wait()  # the client stays connected until the response ends
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie":
                        pair = value.decode("latin-1").split(";", 1)[0]
                        key, _, cookie = pair.partition("=")
                        self.cookies[key.strip()] = cookie.strip()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


@dataclass
class Case:
    label: str
    params: dict[str, str]
    sql: str = ""
    bound: dict[str, Any] = field(default_factory=dict)
    custom_plans: bool = False  # planned per execution, as service.page asks for name searches
    rows: int = 0  # on the endpoint's page
    raw_rows: int = 0  # the query's: one more when there is a next page
    endpoint: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    raw_tx: list[float] = field(default_factory=list)
    trips: list[int] = field(default_factory=list)
    raw_trips: list[int] = field(default_factory=list)

    def median(self, kind: str) -> float:
        values: list[float] = getattr(self, kind)
        return statistics.median(values) * 1000


@dataclass
class Bench:
    client: AsgiClient
    timer: ServerTimer
    proxy: ProxyProcess
    raw: psycopg.Connection[Any]  # app role, app.org_id set for the session, autocommit
    raw_custom: psycopg.Connection[Any]  # the same, planning each execution (plan_cache_mode)
    tx: psycopg.Connection[Any]  # app role, autocommit: the pipeline sends BEGIN/COMMIT
    ctx: TenantContext
    runs: int

    def sign_in(self, email: str) -> None:
        status, body = self.client.request("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"login failed: {status} {body[:300]!r}")

    def get(self, params: dict[str, str]) -> tuple[dict[str, Any], float, int]:
        with self.proxy.counting() as count:
            status, raw = self.client.request("GET", "/api/orders?" + urlencode({**params, "limit": str(LIMIT)}))
        if status != 200:
            raise RuntimeError(f"GET /api/orders {params}: {status} {raw[:300]!r}")
        body: dict[str, Any] = json.loads(raw)
        return body, self.timer.last, count.value

    def cases(self, org: Org) -> list[Case]:
        today = (datetime.now(UTC) - timedelta(hours=5)).date()
        cases = [
            Case("status=dispatched", {"status": "dispatched"}),
            Case(f"ubigeo={FILTERED_UBIGEO}", {"ubigeo": FILTERED_UBIGEO}),
            Case("seller_id=<seller 1>", {"seller_id": str(org.sellers[0])}),
            Case(
                "status=confirmed, 30 days",
                {
                    "status": "confirmed",
                    "created_from": (today - timedelta(days=45)).isoformat(),
                    "created_to": (today - timedelta(days=16)).isoformat(),
                },
            ),
            Case(f"q={SEARCHED_SURNAME}", {"q": SEARCHED_SURNAME}),
            Case(f"q={RARE_NAME}", {"q": RARE_NAME}),
            Case(f"q={COMMON_NAME}", {"q": COMMON_NAME}),
        ]
        first, _, _ = self.get(cases[0].params)
        if first["next_cursor"]:
            cases.append(Case("status=dispatched, page 2", {**cases[0].params, "cursor": first["next_cursor"]}))
        for case in cases:
            body, _, _ = self.get(case.params)
            case.rows = len(body["orders"])
            case.raw_rows = case.rows + (1 if body["next_cursor"] else 0)
            case.sql, case.bound, case.custom_plans = compiled_page(self.ctx, case.params)
        return cases

    def measure(self, cases: list[Case]) -> None:
        from lib.config import settings

        context = {"org": str(self.ctx.org_id), "timeout": str(settings().database_statement_timeout_ms)}
        kinds = ("endpoint", "raw", "raw_tx")
        for run in range(WARMUP_ROUNDS + self.runs):
            counted = run >= WARMUP_ROUNDS
            for case in cases:
                for kind in kinds[run % 3 :] + kinds[: run % 3]:
                    if kind == "endpoint":
                        body, elapsed, trips = self.get(case.params)
                        if len(body["orders"]) != case.rows:
                            raise RuntimeError(f"{case.label}: {len(body['orders'])} rows, then {case.rows}")
                        if counted:
                            case.trips.append(trips)
                    elif kind == "raw":
                        raw = self.raw_custom if case.custom_plans else self.raw
                        with self.proxy.counting() as count:
                            start = time.perf_counter()
                            rows = raw.execute(case.sql, case.bound).fetchall()
                            elapsed = time.perf_counter() - start
                        if counted:
                            case.raw_trips.append(count.value)
                    else:
                        start = time.perf_counter()
                        with self.tx.pipeline():
                            self.tx.execute("BEGIN READ ONLY")
                            plans = "force_custom_plan" if case.custom_plans else "auto"
                            self.tx.execute(TENANT_READ_CONTEXT, {**context, "plans": plans})
                            cursor = self.tx.cursor()
                            cursor.execute(case.sql, case.bound)
                            self.tx.execute("COMMIT")
                        rows = cursor.fetchall()
                        elapsed = time.perf_counter() - start
                    if kind != "endpoint" and len(rows) != case.raw_rows:
                        raise RuntimeError(f"{case.label}: {len(rows)} raw rows, not {case.raw_rows}")
                    if counted:
                        getattr(case, kind).append(elapsed)

    def first_trips(self, case: Case) -> tuple[int, int]:
        """Round trips of a request whose cookie this instance has not resolved yet (the session is
        looked up before the read), and of one made with fresh pools (connecting is part of it)."""
        from lib.auth import sessions
        from lib.db import dispose_engine

        for value in self.client.cookies.values():
            sessions.forget(sessions.token_hash(value))
        _, _, unseen = self.get(case.params)
        dispose_engine()
        _, _, new_engine = self.get(case.params)
        return unseen, new_engine

    def plan_cache(self) -> list[str]:
        """How Postgres planned the prepared page statements (psycopg prepares after five runs)."""
        from lib.db.engine import get_async_pool

        async def pooled() -> Any:
            async with get_async_pool().connection() as conn:  # the one the list read last used
                return await (await conn.execute(_PLAN_CACHE)).fetchone()

        found = [("raw connection", self.raw.execute(_PLAN_CACHE).fetchone())]
        found.append(("the app's pooled connection", asyncio.run(pooled())))
        return [
            f"{where}: {row[0]} page statements prepared, {row[1]} generic-plan and {row[2]} custom-plan executions"
            for where, row in found
            if row is not None
        ]

    def explain(self, case: Case) -> Plans:
        """The page's plans as the application role: the custom one (planned with the values, as
        for a statement's first five runs) and the generic one psycopg's prepared statement uses
        afterwards whenever Postgres finds it no costlier (forced here, to run it under ANALYZE)."""
        import psycopg

        custom = self.raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + case.sql, case.bound).fetchall()
        names: list[str] = []

        def numbered(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        prepared = re.sub(r"%\((\w+)\)s", numbered, case.sql).replace("%%", "%")
        arguments = ", ".join(f"%({name})s" for name in names)
        self.raw.execute("SET plan_cache_mode = force_generic_plan")
        self.raw.execute(f"PREPARE bench_page AS {prepared}")
        try:
            explain = f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_page({arguments})"
            generic = psycopg.ClientCursor(self.raw).execute(explain, case.bound).fetchall()
        finally:
            self.raw.execute("DEALLOCATE bench_page")
            self.raw.execute("RESET plan_cache_mode")
        return Plans([str(row[0]) for row in custom], [str(row[0]) for row in generic])


@dataclass(frozen=True, slots=True)
class Plans:
    custom: list[str]
    generic: list[str]


def compiled_page(ctx: TenantContext, params: dict[str, str]) -> tuple[str, dict[str, Any], bool]:
    """The SQL and parameters service.page sends for this query, as lib.db.pipeline compiles them,
    and whether it asks for custom plans."""
    from lib.db import get_engine
    from lib.http.schemas import decode_query
    from lib.orders import store, views
    from lib.orders.schemas import OrderListQuery

    query = decode_query({**params, "limit": str(LIMIT)}, OrderListQuery)
    after = store.decode_cursor(query.cursor) if query.cursor else None
    statement, bound = store.page_statement(
        ctx, store.Scope.for_context(ctx), query, after, query.limit + 1, columns=views.SUMMARY_COLUMNS
    )
    compiled = statement.compile(dialect=get_engine().dialect)
    return str(compiled), dict(compiled.construct_params(dict(bound))), store.is_name_search(query)


_PLAN_CACHE = (
    "SELECT count(*), coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements "
    "WHERE starts_with(statement, 'SELECT o.id, o.number')"
)
_INDEX_SCAN = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")
_SEQ_SCAN_ORDERS = re.compile(r"Seq Scan on orders\b")
_REMOVED = re.compile(r"Rows Removed by (?:Filter|Index Recheck): (\d+)")


def plan_verdict(plan: Sequence[str]) -> tuple[bool, str]:
    """Whether orders is read through an index and never by a Seq Scan; which index, and how many
    rows the plan read only to throw away (an index can still walk a whole organization)."""
    text = "\n".join(plan)
    scans = sorted({f"{kind} {index}" for kind, index in _INDEX_SCAN.findall(text)})
    seq = bool(_SEQ_SCAN_ORDERS.search(text))
    removed = sum(int(n) for n in _REMOVED.findall(text))
    ok = bool(scans) and not seq
    summary = "; ".join(scans) or "no index scan"
    if seq:
        summary += "; Seq Scan on orders"
    if removed:
        summary += f"; {removed:,} rows read and filtered out"
    return ok, summary


# --- reporting -----------------------------------------------------------------------------------


def print_size(total: int, large: int, cases: Sequence[Case]) -> None:
    print(f"\n== {total:,} orders (large organization: {large:,}) ==")
    print(f"{'filter':<28} {'rows':>4} {'endpoint ms':>11} {'raw ms':>7} {'raw tx ms':>9} {'endpoint/raw':>12}  trips")
    for case in cases:
        trips = ",".join(str(n) for n in sorted(Counter(case.trips)))
        print(
            f"{case.label:<28} {case.rows:>4} {case.median('endpoint'):>11.2f} {case.median('raw'):>7.2f} "
            f"{case.median('raw_tx'):>9.2f} {case.median('endpoint') / case.median('raw'):>11.2f}x  {trips}"
        )
    sys.stdout.flush()


def print_storage(conn: psycopg.Connection[Any], total: int) -> None:
    """What orders and the name search's tables take on disk (tables with their indexes)."""
    tables = ("orders", "order_items", "order_name_words", "order_name_keys")
    print(f"\non disk at {total:,} orders (table + indexes):")
    for table in tables:  # names written here, not input
        [[size, rows]] = conn.execute(f"SELECT pg_total_relation_size('{table}'), count(*) FROM {table}").fetchall()
        print(f"   {table:<18} {size / 2**20:>8,.0f} MiB  {rows:>12,} rows  {size / total:>6,.0f} B per order")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000, help="orders in the first measurement")
    parser.add_argument("--large", type=int, default=1_000_000, help="orders in the second measurement")
    parser.add_argument("--orgs", type=int, default=100, help="organizations (the first holds a quarter)")
    parser.add_argument("--runs", type=int, default=51, help="samples per filter and kind")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every database round trip")
    args = parser.parse_args(argv)
    if args.orgs < 2 or args.runs < 1 or args.latency_ms < 0 or not 4 * args.orgs <= args.small < args.large:
        parser.error("need --orgs >= 2, --runs >= 1, --latency-ms >= 0 and 4 * orgs <= --small < --large")

    from lib.crypto import KeyRing

    workdir = Path(tempfile.mkdtemp(prefix="zentro-bench-orders-"))
    os.environ.update(
        {
            "ZENTRO_ENV": "development",
            "BCRYPT_COST": "4",  # the lowest cost config allows outside deployments: logins are not measured
            "PASSWORD_PEPPER": secrets.token_urlsafe(32),
            "ENCRYPTION_KEYS": KeyRing.generate_value(1),
            "MAIL_DIR": str(workdir / "mail"),
            "LOG_LEVEL": "WARNING",
        }
    )
    import logging

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from scripts import local_postgres

    began = time.perf_counter()
    local = local_postgres.start(workdir / "pg", DATABASE, cleanup_mode="delete")
    try:
        return run(args, local, began)
    finally:
        local.server.cleanup()  # type: ignore[attr-defined]
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, local: LocalPostgres, began: float) -> int:
    import psycopg

    from lib.auth.passwords import PasswordHasher
    from lib.tenancy import Actor, RequestMeta, Role, TenantContext
    from scripts import migrate
    from scripts.local_postgres import APP_LOGIN_ROLE
    from scripts.localvercel.asgi import LocalVercel, create_app
    from scripts.roundtrips import ProxyProcess

    migrate.upgrade(local.migration_url, local.app_url)
    port = local.server.get_postmaster_info().port or 5432  # type: ignore[attr-defined]
    proxy = ProxyProcess(target_socket_dir=local.socket_dir, target_port=port, latency_ms=args.latency_ms).start()
    os.environ["DATABASE_URL"] = proxy.database_url(APP_LOGIN_ROLE, DATABASE)
    app_libpq = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
    superuser = psycopg.connect(local.superuser_url.replace("+psycopg", ""))
    version = superuser.execute("SHOW server_version").fetchone()
    print(
        f"Order list benchmark: {args.orgs} organizations, the large one holding 1/{LARGE_SHARE} of the orders; "
        f"pages of {LIMIT}; {args.runs} samples per filter after {WARMUP_ROUNDS} warm-up rounds; "
        f"+{args.latency_ms:g} ms per database round trip; Postgres {version[0] if version else '?'} (local), "
        f"{os.cpu_count()} CPUs"
    )
    password_hash = PasswordHasher(os.environ["PASSWORD_PEPPER"], 4).hash(PASSWORD)
    orgs = create_orgs(superuser, args.orgs, password_hash)
    large = orgs[0]
    rng = Random(2026)  # noqa: S311 - reproducible fake data, not secrets

    router = create_app(ROOT)
    if not isinstance(router, LocalVercel):
        raise TypeError("the local router is not LocalVercel")
    timer = ServerTimer(router.functions.app(ORDERS_FUNCTION))
    router.functions.wrap(ORDERS_FUNCTION, lambda _: timer)
    ctx = TenantContext(
        org_id=large.id,
        actor=Actor(user_id=large.admin_id, role=Role.ADMIN),
        request=RequestMeta(request_id="bench", client_ip=None, user_agent=None),
    )
    raw = psycopg.connect(app_libpq, autocommit=True)
    raw.execute("SELECT set_config('app.org_id', %s, false)", (str(large.id),))
    raw_custom = psycopg.connect(app_libpq, autocommit=True)
    raw_custom.execute("SELECT set_config('app.org_id', %s, false)", (str(large.id),))
    raw_custom.execute("SET plan_cache_mode = force_custom_plan")
    tx = psycopg.connect(app_libpq, autocommit=True)
    results: dict[int, list[Case]] = {}
    cold: dict[int, tuple[int, int]] = {}
    plans: list[tuple[Case, Plans]] = []
    cache: list[str] = []
    client = AsgiClient(router, ("192.0.2.10", 40000))
    try:
        bench = Bench(
            client=client, timer=timer, proxy=proxy, raw=raw, raw_custom=raw_custom, tx=tx, ctx=ctx, runs=args.runs
        )
        for total in (args.small, args.large):
            seeded = grow(superuser, orgs, total, rng)
            print(
                f"seeded {seeded.orders:,} orders, {seeded.items:,} items, {seeded.customers:,} customers "
                f"in {seeded.seconds:.1f} s (COPY); VACUUM ANALYZE + CHECKPOINT {seeded.vacuum_seconds:.1f} s"
            )
            sys.stdout.flush()
            # The seeded rows' Python objects (a quarter of a million customers at 1M) stay in this
            # process; the app's collector must not walk them on every collection it makes.
            gc.freeze()
            bench.sign_in(large.admin_email)  # again at each size: seeding may outlast the idle timeout
            cases = bench.cases(large)
            bench.measure(cases)
            results[total] = cases
            print_size(total, large.orders, cases)
            if total == args.large:
                print_storage(superuser, total)
                cache = bench.plan_cache()
                plans = [(case, bench.explain(case)) for case in cases]
            cold[total] = bench.first_trips(cases[0])
    finally:
        client.close()
    report(args, results, cold, plans, cache)
    proxy.stop()
    print(f"\ntotal time {time.perf_counter() - began:.0f} s")
    return 0


def report(
    args: argparse.Namespace,
    results: dict[int, list[Case]],
    cold: dict[int, tuple[int, int]],
    plans: list[tuple[Case, Plans]],
    cache: list[str],
) -> None:
    small, large = results[args.small], results[args.large]
    print(f"\n== endpoint {args.large:,} / {args.small:,} (median server time) ==")
    print(f"{'filter':<28} {'small ms':>9} {'large ms':>9} {'ratio':>7}   raw ratio")
    growth: list[tuple[float, str]] = []
    by_label = {case.label: case for case in small}
    for after in large:
        before = by_label.get(after.label)
        if before is None:
            continue
        ratio = after.median("endpoint") / before.median("endpoint")
        growth.append((ratio, after.label))
        raw_ratio = after.median("raw") / before.median("raw")
        print(
            f"{after.label:<28} {before.median('endpoint'):>9.2f} {after.median('endpoint'):>9.2f} "
            f"{ratio:>6.2f}x   {raw_ratio:.2f}x"
        )

    print("\n== database round trips per endpoint request ==")
    for total, cases in results.items():
        counts = Counter(n for case in cases for n in case.trips)
        raw_counts = Counter(n for case in cases for n in case.raw_trips)
        spread = ", ".join(f"{n} trips x{times}" for n, times in sorted(counts.items()))
        raw_spread = ", ".join(f"{n} x{times}" for n, times in sorted(raw_counts.items()))
        unseen, new_engine = cold[total]
        print(f"{total:>10,} orders: steady state {spread}; raw statement {raw_spread}")
        print(f"{'':>10}         first request with a cookie this instance has not resolved yet: {unseen}")
        print(f"{'':>10}         first request of a new pool (connecting): {new_engine}")

    print(f"\n== query plans at {args.large:,} orders, as the application role with app.org_id set ==")
    print("plan cache (pg_prepared_statements) after the measurement:")
    for line in cache:
        print(f"   {line}")
    verdicts: list[bool] = []
    for case, plan in plans:
        generic_ok, generic = plan_verdict(plan.generic)
        custom_ok, custom = plan_verdict(plan.custom)
        verdicts.append(generic_ok and custom_ok)
        print(f"\n-- {case.label}: generic plan, EXPLAIN (ANALYZE, BUFFERS) EXECUTE")
        for line in plan.generic:
            print(f"   {line}")
        executed = next((line.strip() for line in plan.custom if line.startswith("Execution Time")), "")
        print(f"   custom plan, EXPLAIN (ANALYZE, BUFFERS): {custom}; {executed}")
        print(f"   => {'index access, no Seq Scan on orders' if verdicts[-1] else 'CHECK FAILED'} (generic: {generic})")

    endpoint_ratio = [(case.label, case.median("endpoint") / case.median("raw")) for case in large]
    max_trips = max(n for cases in results.values() for case in cases for n in case.trips)
    print("\n== aims ==")
    worst = max(endpoint_ratio, key=lambda item: item[1])
    met = sum(ratio <= 1.5 for _, ratio in endpoint_ratio)
    print(
        f"endpoint <= 1.5x raw at {args.large:,}: {met}/{len(endpoint_ratio)} filters "
        f"(worst {worst[1]:.2f}x, {worst[0]})"
    )
    worst_growth = max(growth)
    met = sum(ratio <= 1.3 for ratio, _ in growth)
    worst_text = f"worst {worst_growth[0]:.2f}x, {worst_growth[1]}"
    print(f"endpoint at {args.large:,} <= 1.3x at {args.small:,}: {met}/{len(growth)} filters ({worst_text})")
    print(f"round trips <= 2 per request: {'met' if max_trips <= 2 else 'MISSED'} (at most {max_trips})")
    print(f"plans use indexes, no Seq Scan on orders: {sum(verdicts)}/{len(verdicts)} pages (generic and custom plans)")


if __name__ == "__main__":
    sys.exit(main())
