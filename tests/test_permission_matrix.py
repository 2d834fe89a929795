"""Every route x every role (and anonymous) against the one policy in lib/permissions.

For each operation of every api/ file this test knows a request that succeeds when the caller
may make it. It fails when:
- a route has no declared access rule (the factory refuses those) or no example here;
- anonymous reaches a signed-in route (must be 401), or a cron route without its secret;
- a role the policy denies gets anything but 403 `forbidden`;
- a role the policy allows gets anything but the example's success status.
Each case runs in a fresh organization, so one case's writes cannot decide another's answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from lib.http.operation import Operation
from lib.permissions import allows
from lib.tenancy import Role
from scripts.openapi import declared_functions
from tests.conftest import Account, Database, sign_in
from tests.order_samples import csv_file, csv_row, order_payload

ROOT = Path(__file__).resolve().parent.parent
ROLES = [role.value for role in Role]
_V1 = {"If-Match": '"1"'}


@dataclass
class World:
    """A fresh organization: the caller (if any), a target user and their browsers."""

    database: Database
    client: Any
    caller: Account | None
    target: Account
    order_id: uuid.UUID | None = None  # an order the caller may see, when the example seeds one
    record_id: uuid.UUID | None = None  # a payment, settlement or customer the example seeded


@dataclass(frozen=True)
class Example:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None = None
    success: int = 200
    setup: Callable[[World], None] | None = None
    headers: Callable[[World], dict[str, str]] | None = None
    content: Callable[[World], bytes] | None = None  # a non-JSON body (CSV uploads)


def _new_email(_: World) -> dict[str, Any]:
    return {"email": f"inv-{uuid.uuid4().hex[:8]}@example.pe", "role": "SELLER", "full_name": "Invitada"}


def _begin_mfa(world: World) -> None:
    begun = world.client.post("/api/auth/mfa")
    assert begun.status_code == 201
    world.client.mfa_secret = begun.json()["secret"]  # type: ignore[attr-defined]


def _seed_order(world: World) -> None:
    """An order the caller's role can see: their own (a SELLER's) or a confirmed one (LOGISTICS)."""
    assert world.caller is not None
    status = "confirmed" if world.caller.role == "LOGISTICS" else "pending"
    world.order_id = world.database.create_order(world.caller.org_id, world.caller, status=status)


def _owner_sql(world: World, sql: str, *params: Any) -> Any:
    assert world.caller is not None
    with world.database.connect("owner") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(world.caller.org_id),))
        return conn.execute(sql, params).fetchone()


def _rider(world: World) -> Account:
    assert world.caller is not None
    if world.caller.role == "LOGISTICS":
        return world.caller
    return world.database.create_user(world.caller.org_id, "LOGISTICS")


def _seed_payment(world: World) -> None:
    """A submitted card payment on an order the caller sees."""
    _seed_order(world)
    assert world.caller is not None
    [world.record_id] = _owner_sql(
        world,
        """INSERT INTO payments (org_id, order_id, method, amount_cents, currency, paid_at, recorded_by)
           VALUES (%s, %s, 'card', 1000, 'PEN', now(), %s) RETURNING id""",
        world.caller.org_id,
        world.order_id,
        world.caller.id,
    )


def _seed_delivered_cod(world: World) -> None:
    assert world.caller is not None
    rider = _rider(world)
    world.order_id = world.database.create_order(
        world.caller.org_id, world.caller, status="delivered", rider_id=rider.id
    )
    _owner_sql(world, "UPDATE orders SET collect_on_delivery = true WHERE id = %s RETURNING id", world.order_id)


def _seed_zeus_shipment(world: World) -> None:
    """A dispatched Zeus order (the caller's, so a SELLER sees it too) whose shipment needs review."""
    assert world.caller is not None
    world.order_id = world.database.create_order(world.caller.org_id, world.caller, status="dispatched")
    _owner_sql(world, "UPDATE orders SET carrier = 'zeus' WHERE id = %s RETURNING id", world.order_id)
    _owner_sql(
        world,
        """INSERT INTO shipments (org_id, order_id, carrier, state, problem, attempts, created_at, updated_at)
           VALUES (%s, %s, 'zeus', 'needs_review', 'zeus_login_rejected', 1, now(), now()) RETURNING id""",
        world.caller.org_id,
        world.order_id,
    )


def _seed_settlement(world: World) -> None:
    assert world.caller is not None
    rider = _rider(world)
    [world.record_id] = _owner_sql(
        world,
        """INSERT INTO settlements (org_id, number, rider_id, currency, created_by)
           VALUES (%s, 1, %s, 'PEN', %s) RETURNING id""",
        world.caller.org_id,
        rider.id,
        world.caller.id,
    )


def _seed_customer(world: World) -> None:
    _seed_order(world)
    [world.record_id] = _owner_sql(world, "SELECT customer_id FROM orders WHERE id = %s", world.order_id)


def _seed_dead_job(world: World) -> None:
    """A file removal that failed for good: dead, its (sealed) payload kept for a person to decide."""
    assert world.caller is not None
    [world.record_id] = _owner_sql(
        world,
        """INSERT INTO jobs (org_id, kind, payload, status, attempts, run_after, retry_until, finished_at, last_error)
           VALUES (%s, 'storage.delete', '\\x00', 'dead', 3, now(), now(), now(), 'gave up') RETURNING id""",
        world.caller.org_id,
    )


def _invite_target(world: World) -> None:
    _owner_sql(world, "UPDATE users SET status = 'invited' WHERE id = %s RETURNING id", world.target.id)


def _record_path(prefix: str, suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"{prefix}/{w.record_id or uuid.uuid4()}{suffix}"


_BOUNDARY = "zentro-matrix-boundary"


def _proof_upload(_: World) -> bytes:
    from tests.proof_samples import jpeg_bytes

    head = (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="yape.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + jpeg_bytes() + f"\r\n--{_BOUNDARY}--\r\n".encode()


def _order_path(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/orders/{w.order_id or uuid.uuid4()}{suffix}"


def _step_for(world: World) -> dict[str, Any]:
    """A lifecycle step the caller's role may take on the seeded order."""
    if world.caller is not None and world.caller.role == "LOGISTICS":
        return {"action": "prepare"}
    return {"action": "cancel", "reason": "El cliente desistió"}


def _enable_target_mfa(world: World, browser: Any) -> None:
    client = browser()
    sign_in(client, world.target)
    secret = client.post("/api/auth/mfa").json()["secret"]
    assert client.put("/api/auth/mfa", json={"code": pyotp.TOTP(secret).now()}).status_code == 200


STATIC = {
    ("GET", "/api/auth/session"): Example("GET", lambda w: "/api/auth/session"),
    ("POST", "/api/auth/logout"): Example("POST", lambda w: "/api/auth/logout", success=204),
    ("PUT", "/api/auth/password"): Example(
        "PUT",
        lambda w: "/api/auth/password",
        lambda w: {"current_password": w.caller.password if w.caller else "x", "new_password": "Nuevo-Clave-Segura-77"},
        success=204,
    ),
    ("POST", "/api/auth/mfa"): Example("POST", lambda w: "/api/auth/mfa", success=201),
    ("PUT", "/api/auth/mfa"): Example(
        "PUT",
        lambda w: "/api/auth/mfa",
        lambda w: {"code": pyotp.TOTP(getattr(w.client, "mfa_secret", "A" * 32)).now()},
        setup=_begin_mfa,
    ),
    ("DELETE", "/api/auth/mfa"): Example("DELETE", lambda w: "/api/auth/mfa", lambda w: {"password": "x"}, success=409),
    ("GET", "/api/users"): Example("GET", lambda w: "/api/users"),
    ("POST", "/api/users"): Example("POST", lambda w: "/api/users", _new_email, success=201),
    ("GET", "/api/users/{id}"): Example("GET", lambda w: f"/api/users/{w.target.id}"),
    ("PATCH", "/api/users/{id}"): Example(
        "PATCH", lambda w: f"/api/users/{w.target.id}", lambda w: {"role": "LOGISTICS"}
    ),
    ("DELETE", "/api/users/{id}/mfa"): Example("DELETE", lambda w: f"/api/users/{w.target.id}/mfa", success=204),
    ("POST", "/api/users/{id}/invitation"): Example(
        "POST", lambda w: f"/api/users/{w.target.id}/invitation", success=202, setup=_invite_target
    ),
    ("GET", "/api/jobs"): Example("GET", lambda w: "/api/jobs?state=dead"),
    ("POST", "/api/jobs/{id}/retry"): Example(
        "POST", _record_path("/api/jobs", "/retry"), success=202, setup=_seed_dead_job
    ),
    ("DELETE", "/api/jobs/{id}"): Example("DELETE", _record_path("/api/jobs"), success=204, setup=_seed_dead_job),
    ("GET", "/api/organization"): Example("GET", lambda w: "/api/organization"),
    ("GET", "/api/orders"): Example("GET", lambda w: "/api/orders"),
    ("POST", "/api/orders"): Example("POST", lambda w: "/api/orders", lambda w: order_payload(), success=201),
    ("GET", "/api/orders/{id}"): Example("GET", _order_path(), setup=_seed_order),
    ("PATCH", "/api/orders/{id}"): Example(
        "PATCH", _order_path(), lambda w: {"notes": "Tocar el timbre"}, setup=_seed_order, headers=lambda w: _V1
    ),
    ("POST", "/api/orders/{id}/transitions"): Example(
        "POST", _order_path("/transitions"), _step_for, setup=_seed_order, headers=lambda w: _V1
    ),
    ("GET", "/api/orders/{id}/timeline"): Example("GET", _order_path("/timeline"), setup=_seed_order),
    ("GET", "/api/orders/export"): Example("GET", lambda w: "/api/orders/export"),
    ("POST", "/api/orders/imports"): Example(
        "POST",
        lambda w: "/api/orders/imports?dry_run=true",
        content=lambda w: csv_file([csv_row("WEB-1")]),
        headers=lambda w: {"Content-Type": "text/csv"},
    ),
    ("POST", "/api/customers/lookup"): Example(
        "POST", lambda w: "/api/customers/lookup", lambda w: {"phone": "987654321"}, setup=_seed_order
    ),
    ("GET", "/api/orders/{id}/payments"): Example("GET", _order_path("/payments"), setup=_seed_order),
    ("POST", "/api/orders/{id}/payments"): Example(
        "POST",
        _order_path("/payments"),
        lambda w: {"method": "card", "amount_cents": 1000, "paid_at": "2026-11-20T10:00:00Z"},
        success=201,
        setup=_seed_order,
    ),
    ("POST", "/api/orders/{id}/cash_collections"): Example(
        "POST",
        _order_path("/cash_collections"),
        lambda w: {"amount_cents": 5000},
        success=201,
        setup=_seed_delivered_cod,
    ),
    ("GET", "/api/payments/{id}"): Example("GET", _record_path("/api/payments"), setup=_seed_payment),
    ("PATCH", "/api/payments/{id}"): Example(
        "PATCH", _record_path("/api/payments"), lambda w: {"notes": "ok"}, setup=_seed_payment, headers=lambda w: _V1
    ),
    ("DELETE", "/api/payments/{id}"): Example(
        "DELETE", _record_path("/api/payments"), success=204, setup=_seed_payment, headers=lambda w: _V1
    ),
    ("POST", "/api/payments/{id}/review"): Example(
        "POST",
        _record_path("/api/payments", "/review"),
        lambda w: {"decision": "reject", "reason": "no coincide"},
        setup=_seed_payment,
        headers=lambda w: _V1,
    ),
    ("PUT", "/api/payments/{id}/proof"): Example(
        "PUT",
        _record_path("/api/payments", "/proof"),
        setup=_seed_payment,
        content=_proof_upload,
        headers=lambda w: {**_V1, "Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"},
    ),
    # Allowed, and the payment has no proof yet: 404 `proof_missing` (not 403).
    ("GET", "/api/payments/{id}/proof"): Example(
        "GET", _record_path("/api/payments", "/proof"), setup=_seed_payment, success=404
    ),
    ("GET", "/api/settlements"): Example("GET", lambda w: "/api/settlements"),
    ("POST", "/api/settlements"): Example(
        "POST",
        lambda w: "/api/settlements",
        lambda w: {"rider_id": str(_rider(w).id) if w.caller else str(uuid.uuid4())},
        success=201,
    ),
    ("GET", "/api/settlements/{id}"): Example("GET", _record_path("/api/settlements"), setup=_seed_settlement),
    ("POST", "/api/settlements/{id}/close"): Example(
        "POST",
        _record_path("/api/settlements", "/close"),
        lambda w: {"handed_over_cents": 0},
        setup=_seed_settlement,
        headers=lambda w: _V1,
    ),
    ("GET", "/api/reports/riders"): Example("GET", lambda w: "/api/reports/riders?day=2026-11-24"),
    ("POST", "/api/customers/{id}/anonymise"): Example(
        "POST", _record_path("/api/customers", "/anonymise"), setup=_seed_customer
    ),
    ("PATCH", "/api/organization"): Example("PATCH", lambda w: "/api/organization", lambda w: {"mfa_required": False}),
    ("GET", "/api/orders/{id}/shipment"): Example("GET", _order_path("/shipment"), setup=_seed_zeus_shipment),
    ("POST", "/api/orders/{id}/shipment"): Example(
        "POST", _order_path("/shipment"), success=202, setup=_seed_zeus_shipment
    ),
    # Allowed, and this shipment kept no screenshot: 404 (not 403).
    ("GET", "/api/orders/{id}/shipment/screenshot"): Example(
        "GET", _order_path("/shipment/screenshot"), success=404, setup=_seed_zeus_shipment
    ),
    # Allowed, and nothing is connected yet: 404 `integration_not_connected` (not 403).
    ("GET", "/api/integrations/zeus"): Example("GET", lambda w: "/api/integrations/zeus", success=404),
    ("PUT", "/api/integrations/zeus"): Example(
        "PUT",
        lambda w: "/api/integrations/zeus",
        lambda w: {"portal_url": "https://zeus.example-courier.pe", "username": "tienda", "password": "clave"},
        success=201,
    ),
    ("DELETE", "/api/integrations/zeus"): Example("DELETE", lambda w: "/api/integrations/zeus", success=404),
    ("POST", "/api/integrations/zeus/test"): Example("POST", lambda w: "/api/integrations/zeus/test", success=404),
    # Public routes: anyone, signed in or not.
    ("GET", "/api/health"): Example("GET", lambda w: "/api/health"),
    ("POST", "/api/auth/login"): Example(
        "POST", lambda w: "/api/auth/login", lambda w: {"email": w.target.email, "password": w.target.password}
    ),
    ("POST", "/api/auth/password_reset"): Example(
        "POST", lambda w: "/api/auth/password_reset", lambda w: {"email": w.target.email}, success=202
    ),
    ("POST", "/api/auth/password_reset/confirm"): Example(
        "POST",
        lambda w: "/api/auth/password_reset/confirm",
        lambda w: {"token": "A" * 43, "new_password": "Nuevo-Clave-Segura-77"},
        success=404,
    ),
    ("POST", "/api/auth/invitation"): Example(
        "POST",
        lambda w: "/api/auth/invitation",
        lambda w: {"token": "A" * 43, "password": "Nuevo-Clave-Segura-77"},
        success=404,
    ),
    # Cron routes: nobody without the secret (tests/api/cron cover the secret itself).
    ("GET", "/api/cron/retention"): Example("GET", lambda w: "/api/cron/retention", success=401),
    ("GET", "/api/cron/outbox"): Example("GET", lambda w: "/api/cron/outbox", success=401),
    ("GET", "/api/cron/zeus"): Example("GET", lambda w: "/api/cron/zeus", success=401),
    ("GET", "/api/cron/key_rotation"): Example("GET", lambda w: "/api/cron/key_rotation", success=401),
}

OPERATIONS: list[tuple[str, str, Operation]] = [
    (path, op.method, op) for _, path, operations in declared_functions(ROOT) for op in operations
]


def test_every_route_has_an_example_here() -> None:
    declared = {(method, path) for path, method, _ in OPERATIONS}
    assert declared == set(STATIC), f"missing: {declared - set(STATIC)}; stale: {set(STATIC) - declared}"


def test_every_operation_declares_its_access() -> None:
    for path, method, op in OPERATIONS:
        assert op.access.kind in ("public", "cron", "permission"), (method, path)
        if op.access.kind == "permission":
            assert op.access.permission is not None


def _world(database: Database, browser: Any, role: str | None) -> World:
    org = database.create_org()
    caller = database.create_user(org, role) if role else None
    target = database.create_user(org, "SELLER")
    client = browser()
    if caller is not None:
        sign_in(client, caller)
    return World(database=database, client=client, caller=caller, target=target)


def _call(world: World, example: Example) -> Any:
    headers = example.headers(world) if example.headers else None
    if example.content is not None:
        return world.client.request(
            example.method, example.path(world), content=example.content(world), headers=headers
        )
    body = example.body(world) if example.body else None
    return world.client.request(example.method, example.path(world), json=body, headers=headers)


@pytest.mark.parametrize("role", [None, *ROLES], ids=["anonymous", *ROLES])
@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_route_answers_as_the_policy_says(
    database: Database, browser: Any, role: str | None, path: str, method: str, op: Operation
) -> None:
    example = STATIC[(method, path)]
    world = _world(database, browser, role)
    if (method, path) == ("DELETE", "/api/users/{id}/mfa"):
        _enable_target_mfa(world, browser)
    kind = op.access.kind
    permitted = kind == "public" or (
        kind == "permission"
        and role is not None
        and op.access.permission is not None
        and allows(Role(role), op.access.permission)
    )
    if permitted and example.setup:
        example.setup(world)
    response = _call(world, example)

    if kind == "cron":
        assert response.status_code == 401, response.text
    elif kind == "public":
        assert response.status_code == example.success, response.text
    elif role is None:
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    elif not permitted:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    else:
        assert response.status_code == example.success, response.text


# --- the steps at the door: the assigned rider's or the office's, not any LOGISTICS user's --------

_DOOR_STEPS = [
    ("deliver", "dispatched", {}),
    ("fail_delivery", "dispatched", {"reason": "Cliente ausente"}),
    ("reschedule", "failed_attempt", {"delivery_date": "2031-02-01"}),
    ("return_to_sender", "failed_attempt", {"reason": "No contesta"}),
]
_TARGET = {"deliver": "delivered", "fail_delivery": "failed_attempt", "reschedule": "rescheduled"}
# Who calls, on an order dispatched to a rider, and the answer.
_DOOR_CALLERS = {
    "LOGISTICS, not the rider": 403,
    "LOGISTICS, the rider": 200,
    "ADMIN": 200,
    "SUPERVISOR": 200,
    "SELLER, its own order": 403,
}


@pytest.mark.parametrize("caller", list(_DOOR_CALLERS))
@pytest.mark.parametrize(("action", "status", "extra"), _DOOR_STEPS, ids=[step[0] for step in _DOOR_STEPS])
def test_a_step_at_the_door_is_the_assigned_riders_or_the_offices(
    database: Database, browser: Any, caller: str, action: str, status: str, extra: dict[str, Any]
) -> None:
    org = database.create_org()
    rider = database.create_user(org, "LOGISTICS")
    role = caller.split(",")[0]
    account = rider if caller == "LOGISTICS, the rider" else database.create_user(org, role)
    seller = account if role == "SELLER" else database.create_user(org, "SELLER")
    order_id = database.create_order(org, seller, status=status, rider_id=rider.id)
    client = browser()
    sign_in(client, account)
    response = client.post(f"/api/orders/{order_id}/transitions", json={"action": action, **extra}, headers=_V1)
    assert response.status_code == _DOOR_CALLERS[caller], response.text
    with database.connect("superuser") as conn:
        [[stored]] = conn.execute("SELECT status FROM orders WHERE id = %s", (order_id,)).fetchall()
    if response.status_code == 403:
        assert response.json()["error"]["code"] == "transition_forbidden"
        assert stored == status
    else:
        assert stored == _TARGET.get(action, "returned") == response.json()["status"]
