"""Demo data for the local runtime: two organizations, one user per role in the first, and a
few orders there at different steps of their lifecycle.

Idempotent: running it again changes nothing (orders are found again by external reference).
Orders are captured and moved through lib.orders.service as the demo users, over the app's own
database role, exactly as the API would. Runs as the schema owner (organizations are
provisioned by operators, not through the API), setting each organization for its inserts
because row-level security applies to the owner too. Passwords are hashed exactly as the app
hashes them (same pepper and cost, from the environment).
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from lib.auth.passwords import PasswordHasher
from lib.config import normalise_database_url, settings

DEMO_PASSWORD = "Pisco-Sour-en-Lima-2026"  # noqa: S105 - the local demo's, printed at start


@dataclass(frozen=True)
class DemoOrg:
    id: uuid.UUID
    name: str
    slug: str
    users: tuple[tuple[str, str, str], ...]  # (email, full name, role)


DEMO_ORGS = (
    DemoOrg(
        id=uuid.UUID("00000000-0000-4000-8000-00000000de00"),
        name="Tienda Demo",
        slug="demo",
        users=(
            ("admin@tienda-demo.test", "Ana Quispe", "ADMIN"),
            ("supervisor@tienda-demo.test", "Luis Mamani", "SUPERVISOR"),
            ("vendedor@tienda-demo.test", "Rosa Huamán", "SELLER"),
            ("logistica@tienda-demo.test", "Carlos Flores", "LOGISTICS"),
        ),
    ),
    DemoOrg(
        id=uuid.UUID("00000000-0000-4000-8000-00000000de01"),
        name="Bodega Norte",
        slug="bodega-norte",
        users=(("admin@bodega-norte.test", "Jorge Ramos", "ADMIN"),),
    ),
)
DEMO_ORG_ID = DEMO_ORGS[0].id


def _seed_org(conn: Connection, org: DemoOrg, password_hash: str) -> None:
    conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(org.id)})
    conn.execute(
        text("INSERT INTO organizations (id, name, slug) VALUES (:id, :name, :slug) ON CONFLICT (id) DO NOTHING"),
        {"id": org.id, "name": org.name, "slug": org.slug},
    )
    for email, full_name, role in org.users:
        conn.execute(
            text(
                """
                INSERT INTO users (org_id, email, full_name, role, status, password_hash, password_changed_at)
                VALUES (:org, :email, :name, :role, 'active', :hash, now())
                ON CONFLICT (email) DO NOTHING
                """
            ),
            {"org": org.id, "email": email, "name": full_name, "role": role, "hash": password_hash},
        )


def seed_demo(migration_url: str) -> tuple[DemoOrg, ...]:
    config = settings()
    password_hash = PasswordHasher(config.password_pepper.reveal(), config.bcrypt_cost).hash(DEMO_PASSWORD)
    engine = create_engine(normalise_database_url(migration_url), poolclass=NullPool)
    try:
        for org in DEMO_ORGS:
            with engine.begin() as conn:
                _seed_org(conn, org, password_hash)
            if org.id == DEMO_ORG_ID:
                with engine.connect() as conn:
                    people = _people(conn, org)
                _seed_orders(org, people)
    finally:
        engine.dispose()
    return DEMO_ORGS


@dataclass(frozen=True)
class DemoOrder:
    ref: str
    customer: str
    phone: str
    dni: str
    district: str
    ubigeo: str
    items: tuple[tuple[str, int], ...]  # (sku, quantity)
    steps: tuple[str, ...] = ()  # lifecycle actions taken after capture


_DEMO_ORDERS = (
    DemoOrder("DEMO-1", "María Huamán Quispe", "987654321", "45678912", "Miraflores", "150122", (("POLO-M", 2),)),
    DemoOrder(
        "DEMO-2", "José Pérez Rojas", "912345678", "41234567", "Santiago de Surco", "150140", (("CASACA-L", 1),),
        ("confirm",),
    ),
    DemoOrder(
        "DEMO-3", "Lucía Ñahui Córdova", "923456789", "47654321", "San Juan de Lurigancho", "150132",
        (("POLO-M", 1), ("GORRA", 1)), ("confirm", "prepare", "mark_ready"),
    ),
    DemoOrder(
        "DEMO-4", "Ángel Chávez Inga", "934567890", "40123456", "Ate", "150103", (("GORRA", 3),),
        ("confirm", "prepare", "mark_ready", "dispatch"),
    ),
    DemoOrder(
        "DEMO-5", "Rosa Mamani Flores", "945678901", "43210987", "Los Olivos", "150117", (("CASACA-L", 1),),
        ("confirm", "prepare", "mark_ready", "dispatch", "deliver"),
    ),
)  # fmt: skip
_PRODUCTS = {"POLO-M": ("Polo algodón pima M", 4990), "CASACA-L": ("Casaca cortavientos L", 12990),
             "GORRA": ("Gorra bordada", 2990)}  # fmt: skip


def _people(conn: Connection, org: DemoOrg) -> dict[str, tuple[uuid.UUID, str]]:
    conn.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(org.id)})
    rows = conn.execute(text("SELECT id, role FROM users WHERE org_id = :org"), {"org": org.id})
    return {row.role: (row.id, row.role) for row in rows}


def _seed_orders(org: DemoOrg, people: dict[str, tuple[uuid.UUID, str]]) -> None:
    from datetime import UTC, datetime

    import msgspec

    from lib.db import tenant_transaction
    from lib.orders import service, store
    from lib.orders.schemas import AddressIn, CustomerIn, ItemIn, OrderIn, TransitionIn
    from lib.tenancy import Actor, RequestMeta, Role, TenantContext

    def as_role(role: str) -> TenantContext:
        user_id, _ = people[role]
        meta = RequestMeta(request_id="seed", client_ip=None, user_agent="scripts/seed.py")
        return TenantContext(org.id, Actor(user_id, Role(role)), meta)

    seller, admin = as_role("SELLER"), as_role("ADMIN")
    rider = people["LOGISTICS"][0]
    for demo in _DEMO_ORDERS:
        with tenant_transaction(seller) as tx:
            if store.existing_external_refs(tx, [demo.ref]):
                continue
            order_id = service.create(
                tx,
                OrderIn(
                    customer=CustomerIn(
                        name=demo.customer, phone=demo.phone, document_type="DNI", document_number=demo.dni
                    ),
                    address=AddressIn(
                        department="Lima",
                        province="Lima",
                        district=demo.district,
                        ubigeo=demo.ubigeo,
                        line="Av. Demo 123",
                    ),
                    items=[
                        ItemIn(sku=sku, name=_PRODUCTS[sku][0], quantity=quantity, unit_price_cents=_PRODUCTS[sku][1])
                        for sku, quantity in demo.items
                    ],
                    channel="whatsapp",
                    shipping_cents=1000,
                    collect_on_delivery=True,
                    external_ref=demo.ref,
                ),
                datetime.now(UTC),
            )
        for version, action in enumerate(demo.steps, start=1):
            step = msgspec.convert(
                {"action": action, "rider_id": rider if action == "dispatch" else None}, TransitionIn
            )
            with tenant_transaction(admin) as tx:
                service.transition(tx, order_id, version, step, datetime.now(UTC))
        _seed_payments(demo.ref, order_id, seller, as_role("SUPERVISOR"), as_role("LOGISTICS"))


def _seed_payments(ref: str, order_id: uuid.UUID, seller: Any, supervisor: Any, rider: Any) -> None:
    """A submitted Yape payment (DEMO-2), a verified transfer (DEMO-3), a rider's cash (DEMO-5)."""
    from datetime import UTC, datetime

    from lib.db import tenant_transaction
    from lib.orders import service as orders
    from lib.payments import collections, service
    from lib.payments.schemas import CollectionIn, Method, PaymentIn, ReviewIn

    now = datetime.now(UTC)
    if ref in ("DEMO-2", "DEMO-3"):
        total = orders.detail(seller, order_id).total_cents  # type: ignore[union-attr]
        method: Method = "yape" if ref == "DEMO-2" else "bank_transfer"
        payment = PaymentIn(
            method=method, amount_cents=total, paid_at=now, operation_number=f"{ref[-1]}0{total}", payer_name="Demo"
        )
        with tenant_transaction(seller) as tx:
            payment_id = service.create(tx, order_id, payment, now)
        if ref == "DEMO-3":
            with tenant_transaction(supervisor) as tx:
                service.review(tx, payment_id, 1, ReviewIn(decision="verify"), now)
    elif ref == "DEMO-5":
        total = orders.detail(supervisor, order_id).amount_to_collect_cents
        with tenant_transaction(rider) as tx:
            collections.record(tx, order_id, CollectionIn(amount_cents=total), now)


def describe(orgs: tuple[DemoOrg, ...]) -> str:
    lines = [f"Demo accounts (password: {DEMO_PASSWORD}):"]
    for org in orgs:
        for email, _, role in org.users:
            lines.append(f"  {org.name:<13} {role:<11} {email}")
    return "\n".join(lines)


if __name__ == "__main__":
    url = os.environ.get("DATABASE_MIGRATION_URL")
    if not url:
        print("DATABASE_MIGRATION_URL is not set", file=sys.stderr)
        sys.exit(2)
    print(describe(seed_demo(url)))
