"""The order lifecycle: one declared state machine.

Three statuses are kept apart, as the best order systems do:

- `status`, where the order is in fulfilment (this machine);
- `payment_status`, derived from payments (never set by a client, never by this machine);
- `delivery_outcome`, what the last delivery attempt came to (set by the delivery transitions).

    pending ──confirm──▶ confirmed ──prepare──▶ preparing ──mark_ready──▶ ready ──dispatch──▶ dispatched
       │                    │                      │                      │                    │
       └──────── cancel (with a reason) ───────────┴──────────────────────┘         deliver ──┤──▶ delivered
                                                                                 fail_delivery ▼
                                  rescheduled ◀──reschedule (new date)── failed_attempt
                                      │  └──redispatch──▶ dispatched          │
                                      └──────────── return_to_sender ─────────┴──▶ returned

Each transition names the roles that may make it and what it requires. A transition from the
wrong status is refused with 409 (`invalid_transition`), by the wrong role with 403
(`transition_forbidden`), without what it requires with 422 (`transition_requirement`).
A SELLER may only cancel their own order while it is still pending. The steps at the door
(deliver, fail, reschedule, return) are the assigned rider's: LOGISTICS takes them only on an
order whose `rider_id` it is, the office roles on any.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from lib.tenancy import Actor, Role


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    READY = "ready"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    RESCHEDULED = "rescheduled"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class Requirement(StrEnum):
    REASON = "reason"
    DELIVERY_DATE = "delivery_date"
    COURIER = "courier"


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status
    roles: frozenset[Role]
    requires: frozenset[Requirement] = frozenset()
    outcome: str | None = None  # delivery_outcome it records
    # LOGISTICS may take it only as the order's rider: the door is the assigned rider's business.
    assigned_rider_only: bool = False

    def allows(self, actor: Actor, rider_id: UUID | None) -> bool:
        """Whether `actor` may take this step on an order whose rider is `rider_id` (status aside)."""
        if actor.role is None or actor.role not in self.roles:
            return False
        if self.assigned_rider_only and actor.role == Role.LOGISTICS:
            return rider_id is not None and rider_id == actor.user_id
        return True


_OFFICE = frozenset({Role.ADMIN, Role.SUPERVISOR})
_WAREHOUSE = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LOGISTICS})

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("confirm", frozenset({Status.PENDING}), Status.CONFIRMED, _OFFICE),
        Transition("prepare", frozenset({Status.CONFIRMED}), Status.PREPARING, _WAREHOUSE),
        Transition("mark_ready", frozenset({Status.PREPARING}), Status.READY, _WAREHOUSE),
        Transition(
            "dispatch", frozenset({Status.READY}), Status.DISPATCHED, _WAREHOUSE, frozenset({Requirement.COURIER})
        ),
        Transition(
            "deliver",
            frozenset({Status.DISPATCHED}),
            Status.DELIVERED,
            _WAREHOUSE,
            outcome="delivered",
            assigned_rider_only=True,
        ),
        Transition(
            "fail_delivery",
            frozenset({Status.DISPATCHED}),
            Status.FAILED_ATTEMPT,
            _WAREHOUSE,
            frozenset({Requirement.REASON}),
            outcome="failed",
            assigned_rider_only=True,
        ),
        Transition(
            "reschedule",
            frozenset({Status.FAILED_ATTEMPT}),
            Status.RESCHEDULED,
            _WAREHOUSE,
            frozenset({Requirement.DELIVERY_DATE}),
            assigned_rider_only=True,
        ),
        Transition(
            "redispatch",
            frozenset({Status.RESCHEDULED}),
            Status.DISPATCHED,
            _WAREHOUSE,
            frozenset({Requirement.COURIER}),
        ),
        Transition(
            "return_to_sender",
            frozenset({Status.FAILED_ATTEMPT, Status.RESCHEDULED}),
            Status.RETURNED,
            _WAREHOUSE,
            frozenset({Requirement.REASON}),
            outcome="returned",
            assigned_rider_only=True,
        ),
        Transition(
            "cancel",
            frozenset({Status.PENDING, Status.CONFIRMED, Status.PREPARING, Status.READY}),
            Status.CANCELLED,
            frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
            frozenset({Requirement.REASON}),
        ),
    )
}

# What a SELLER may do, on their own orders only: take back an order nobody confirmed yet.
SELLER_OWN_ACTIONS = {"cancel": frozenset({Status.PENDING})}

# From confirmation on, LOGISTICS sees an order (cancelled ones drop out of their view).
LOGISTICS_VISIBLE = frozenset(Status) - {Status.PENDING, Status.CANCELLED}

# Order contents can change while nothing has left the warehouse.
EDITABLE = frozenset({Status.PENDING, Status.CONFIRMED, Status.PREPARING, Status.READY})
SELLER_EDITABLE = frozenset({Status.PENDING})


def transitions_from(status: Status, actor: Actor, rider_id: UUID | None) -> list[str]:
    """The actions `actor` could take on an order in `status` whose rider is `rider_id` (the
    client's buttons)."""
    return [t.action for t in TRANSITIONS.values() if status in t.sources and t.allows(actor, rider_id)]
