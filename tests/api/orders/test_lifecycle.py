"""The lifecycle: each step by the roles it names, from the statuses it names, with what it needs;
stale versions refused without a change; every change on the order's timeline."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from lib.orders.lifecycle import SELLER_OWN_ACTIONS, TRANSITIONS, Status, transitions_from
from lib.tenancy import Actor, Role
from tests.api.orders.conftest import Shop
from tests.conftest import sign_in

AT_THE_DOOR = {"deliver", "fail_delivery", "reschedule", "return_to_sender"}

# --- the declared machine ------------------------------------------------------------------------


def test_every_status_is_reachable_from_pending_and_final_statuses_have_no_way_out() -> None:
    reached = {Status.PENDING}
    frontier = [Status.PENDING]
    while frontier:
        status = frontier.pop()
        for rule in TRANSITIONS.values():
            if status in rule.sources and rule.target not in reached:
                reached.add(rule.target)
                frontier.append(rule.target)
    assert reached == set(Status)
    for final in (Status.DELIVERED, Status.RETURNED, Status.CANCELLED):
        assert not [rule for rule in TRANSITIONS.values() if final in rule.sources]


def test_the_machine_states_its_requirements_and_roles() -> None:
    assert {r.value for r in TRANSITIONS["cancel"].requires} == {"reason"}
    assert {r.value for r in TRANSITIONS["fail_delivery"].requires} == {"reason"}
    assert {r.value for r in TRANSITIONS["reschedule"].requires} == {"delivery_date"}
    assert {r.value for r in TRANSITIONS["dispatch"].requires} == {"courier"}
    assert TRANSITIONS["confirm"].roles == {Role.ADMIN, Role.SUPERVISOR}
    assert Role.LOGISTICS not in TRANSITIONS["cancel"].roles
    assert Role.SELLER not in TRANSITIONS["deliver"].roles
    assert set(SELLER_OWN_ACTIONS) == {"cancel"} and SELLER_OWN_ACTIONS["cancel"] == {Status.PENDING}
    logistics = Actor(uuid.uuid4(), Role.LOGISTICS)
    assert transitions_from(Status.READY, logistics, None) == ["dispatch"]


def test_the_steps_at_the_door_are_declared_the_assigned_riders() -> None:
    assert {action for action, rule in TRANSITIONS.items() if rule.assigned_rider_only} == AT_THE_DOOR
    rider, other = Actor(uuid.uuid4(), Role.LOGISTICS), Actor(uuid.uuid4(), Role.LOGISTICS)
    for action in AT_THE_DOOR:
        rule = TRANSITIONS[action]
        assert rule.allows(rider, rider.user_id)
        assert not rule.allows(other, rider.user_id) and not rule.allows(rider, None)
        for office in (Role.ADMIN, Role.SUPERVISOR):
            assert rule.allows(Actor(uuid.uuid4(), office), rider.user_id)
            assert rule.allows(Actor(uuid.uuid4(), office), None)  # a carrier's order
        assert not rule.allows(Actor(rider.user_id, Role.SELLER), rider.user_id)
    # Any LOGISTICS user still prepares and dispatches: only the door is the rider's.
    assert TRANSITIONS["dispatch"].allows(other, rider.user_id) and TRANSITIONS["prepare"].allows(other, None)
    assert transitions_from(Status.DISPATCHED, rider, rider.user_id) == ["deliver", "fail_delivery"]
    assert transitions_from(Status.DISPATCHED, other, rider.user_id) == []


# --- through the API ------------------------------------------------------------------------------


def _post(shop: Shop, who: str, order: dict[str, Any], action: str, version: int | None = None, **extra: Any) -> Any:
    headers = {"If-Match": f'"{order["version"] if version is None else version}"'}
    return shop[who].post(f"/api/orders/{order['id']}/transitions", json={"action": action, **extra}, headers=headers)


def test_the_whole_happy_path_records_each_status_and_the_delivery_outcome(shop: Shop) -> None:
    rider = str(shop.accounts["logistics"].id)
    order = shop.capture()
    order = shop.step(order, "confirm", "supervisor")
    assert order["actions"] == ["prepare", "cancel"]
    order = shop.step(order, "prepare", "logistics")
    order = shop.step(order, "mark_ready", "logistics")
    order = shop.step(order, "dispatch", "logistics", rider_id=rider)
    assert (order["status"], order["rider_id"]) == ("dispatched", rider)
    order = shop.step(order, "deliver", "logistics")
    assert (order["status"], order["delivery_outcome"], order["delivery_attempts"]) == ("delivered", "delivered", 1)
    assert order["version"] == 6 and order["actions"] == []


def test_a_failed_attempt_is_rescheduled_then_returned(shop: Shop) -> None:
    order = shop.capture()
    for action, who in (("confirm", "admin"), ("prepare", "logistics"), ("mark_ready", "logistics")):
        order = shop.step(order, action, who)
    order = shop.step(order, "dispatch", "logistics", rider_id=str(shop.accounts["logistics"].id))
    order = shop.step(order, "fail_delivery", "logistics", reason="Cliente ausente")
    assert (order["status"], order["delivery_outcome"], order["status_reason"]) == (
        "failed_attempt",
        "failed",
        "Cliente ausente",
    )
    order = shop.step(order, "reschedule", "logistics", delivery_date="2031-02-01")
    assert (order["status"], order["delivery_date"]) == ("rescheduled", "2031-02-01")
    order = shop.step(order, "return_to_sender", "supervisor", reason="No contesta")
    assert (order["status"], order["delivery_outcome"]) == ("returned", "returned")


REFUSED = [
    # (who, status the order is in, action, extra, status code, error code)
    ("seller", "pending", "confirm", {}, 403, "transition_forbidden"),
    ("logistics", "confirmed", "confirm", {}, 403, "transition_forbidden"),
    ("logistics", "confirmed", "cancel", {"reason": "x"}, 403, "transition_forbidden"),
    ("seller", "confirmed", "cancel", {"reason": "x"}, 403, "transition_forbidden"),
    ("admin", "pending", "deliver", {}, 409, "invalid_transition"),
    ("admin", "confirmed", "confirm", {}, 409, "invalid_transition"),
    ("logistics", "preparing", "dispatch", {"carrier": "olva"}, 409, "invalid_transition"),
    ("admin", "pending", "cancel", {}, 422, "transition_requirement"),
    ("admin", "pending", "cancel", {"reason": "   "}, 422, "transition_requirement"),
    ("logistics", "ready", "dispatch", {}, 422, "transition_requirement"),
    ("admin", "ready", "dispatch", {"rider_id": "00000000-0000-0000-0000-000000000001"}, 422, "transition_requirement"),
    ("supervisor", "dispatched", "fail_delivery", {}, 422, "transition_requirement"),
    ("admin", "failed_attempt", "reschedule", {}, 422, "transition_requirement"),
    ("supervisor", "failed_attempt", "reschedule", {"delivery_date": "2020-01-01"}, 422, "transition_requirement"),
    # A carrier's order (no rider): its door is the office's, no LOGISTICS user's.
    ("logistics", "dispatched", "deliver", {}, 403, "transition_forbidden"),
    ("logistics", "dispatched", "fail_delivery", {"reason": "Ausente"}, 403, "transition_forbidden"),
    ("logistics", "failed_attempt", "reschedule", {"delivery_date": "2031-02-01"}, 403, "transition_forbidden"),
    ("logistics", "failed_attempt", "return_to_sender", {"reason": "x"}, 403, "transition_forbidden"),
    ("admin", "delivered", "cancel", {"reason": "x"}, 409, "invalid_transition"),
    ("logistics", "confirmed", "prepare", {"carrier": "olva"}, 422, "transition_requirement"),
    ("admin", "pending", "confirm", {"delivery_date": "2031-01-01"}, 422, "transition_requirement"),
]
_PATH = {
    "pending": [],
    "confirmed": [("confirm", {})],
    "preparing": [("confirm", {}), ("prepare", {})],
    "ready": [("confirm", {}), ("prepare", {}), ("mark_ready", {})],
    "dispatched": [("confirm", {}), ("prepare", {}), ("mark_ready", {}), ("dispatch", {"carrier": "olva"})],
    "failed_attempt": [
        ("confirm", {}),
        ("prepare", {}),
        ("mark_ready", {}),
        ("dispatch", {"carrier": "olva"}),
        ("fail_delivery", {"reason": "Ausente"}),
    ],
    "delivered": [
        ("confirm", {}),
        ("prepare", {}),
        ("mark_ready", {}),
        ("dispatch", {"carrier": "olva"}),
        ("deliver", {}),
    ],
}


def _order_in(shop: Shop, status: str) -> dict[str, Any]:
    order = shop.capture()
    for action, extra in _PATH[status]:
        order = shop.step(order, action, "admin", **extra)
    return order


@pytest.mark.parametrize(("who", "status", "action", "extra", "code", "error"), REFUSED)
def test_refused_steps_say_why_and_change_nothing(
    shop: Shop, who: str, status: str, action: str, extra: dict[str, Any], code: int, error: str
) -> None:
    order = _order_in(shop, status)
    before = shop.row(order["id"])
    response = _post(shop, who, order, action, **extra)
    assert response.status_code == code, response.text
    body = response.json()["error"]
    assert body["code"] == error and body["message"]
    assert shop.row(order["id"]) == before


# The steps at the door, each from a status it leaves and with what it needs.
DOOR_STEPS = [
    ("deliver", "dispatched", {}),
    ("fail_delivery", "dispatched", {"reason": "Cliente ausente"}),
    ("reschedule", "failed_attempt", {"delivery_date": "2031-02-01"}),
    ("return_to_sender", "rescheduled", {"reason": "No contesta"}),
]


@pytest.fixture
def rider(shop: Shop, browser: Any) -> str:
    """A second LOGISTICS user, signed in as `rider`: the one the orders below are assigned to."""
    account = shop.database.create_user(shop.org, "LOGISTICS", full_name="Rider")
    shop.accounts["rider"] = account
    shop.clients["rider"] = browser()
    sign_in(shop.clients["rider"], account)
    return str(account.id)


def _assigned(shop: Shop, status: str, rider_id: str) -> dict[str, Any]:
    """An order dispatched to `rider_id`, then taken (by the office) to `status`."""
    order = shop.capture()
    for action in ("confirm", "prepare", "mark_ready"):
        order = shop.step(order, action)
    order = shop.step(order, "dispatch", rider_id=rider_id)
    if status in ("failed_attempt", "rescheduled"):
        order = shop.step(order, "fail_delivery", reason="Ausente")
    if status == "rescheduled":
        order = shop.step(order, "reschedule", delivery_date="2031-01-20")
    assert order["status"] == status
    return order


@pytest.mark.parametrize(("action", "status", "extra"), DOOR_STEPS, ids=[step[0] for step in DOOR_STEPS])
def test_a_step_at_the_door_is_the_assigned_riders_or_the_offices(
    shop: Shop, rider: str, action: str, status: str, extra: dict[str, Any]
) -> None:
    order = _assigned(shop, status, rider)
    before = shop.row(order["id"])
    refused = _post(shop, "logistics", order, action, **extra)  # LOGISTICS, not this order's rider
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "transition_forbidden"
    assert shop.row(order["id"]) == before
    # The buttons say the same: the rider has the step, the other LOGISTICS user does not.
    assert action not in shop["logistics"].get(f"/api/orders/{order['id']}").json()["actions"]
    assert action in shop["rider"].get(f"/api/orders/{order['id']}").json()["actions"]

    for who in ("rider", "admin", "supervisor"):
        fresh = _assigned(shop, status, rider)
        assert action in shop[who].get(f"/api/orders/{fresh['id']}").json()["actions"], who
        done = _post(shop, who, fresh, action, **extra)
        assert done.status_code == 200, (who, done.text)
        assert done.json()["status"] == TRANSITIONS[action].target.value


def test_a_seller_may_cancel_their_own_pending_order_with_a_reason(shop: Shop) -> None:
    order = shop.capture()
    cancelled = shop.step(order, "cancel", "seller", reason="El cliente desistió")
    assert (cancelled["status"], cancelled["status_reason"]) == ("cancelled", "El cliente desistió")
    theirs = shop.capture("other_seller")
    response = _post(shop, "seller", theirs, "cancel", reason="x")
    assert response.status_code == 404


def test_a_stale_version_is_refused_and_changes_nothing(shop: Shop) -> None:
    order = shop.capture()
    edited = shop["admin"].patch(f"/api/orders/{order['id']}", json={"notes": "v2"}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    before = shop.row(order["id"])

    stale_edit = shop["admin"].patch(
        f"/api/orders/{order['id']}", json={"notes": "v1 edit"}, headers={"If-Match": '"1"'}
    )
    assert stale_edit.status_code == 409 and stale_edit.json()["error"]["code"] == "version_conflict"
    assert stale_edit.headers["ETag"] == '"2"'
    stale_step = _post(shop, "admin", order, "confirm", version=1)
    assert stale_step.status_code == 409 and stale_step.json()["error"]["code"] == "version_conflict"
    assert shop.row(order["id"]) == before

    current = shop["admin"].patch(f"/api/orders/{order['id']}", json={"notes": "v3"}, headers={"If-Match": '"2"'})
    assert current.status_code == 200 and current.json()["version"] == 3


def test_an_update_without_if_match_is_428_and_a_malformed_one_400(shop: Shop) -> None:
    order = shop.capture()
    missing = shop["admin"].patch(f"/api/orders/{order['id']}", json={"notes": "x"})
    assert missing.status_code == 428 and missing.json()["error"]["code"] == "precondition_required"
    malformed = shop["admin"].patch(f"/api/orders/{order['id']}", json={"notes": "x"}, headers={"If-Match": "*"})
    assert malformed.status_code == 400
    no_version_step = shop["admin"].post(f"/api/orders/{order['id']}/transitions", json={"action": "confirm"})
    assert no_version_step.status_code == 428
    assert shop.row(order["id"])["version"] == 1


def test_the_etag_of_a_read_is_the_version_to_send(shop: Shop) -> None:
    order = shop.capture()
    read = shop["admin"].get(f"/api/orders/{order['id']}")
    assert read.headers["ETag"] == '"1"'
    response = shop["admin"].post(
        f"/api/orders/{order['id']}/transitions", json={"action": "confirm"}, headers={"If-Match": read.headers["ETag"]}
    )
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'


def test_of_two_concurrent_updates_with_one_version_exactly_one_wins(shop: Shop, browser: Any) -> None:
    order = shop.capture()
    from tests.conftest import sign_in

    clients = []
    for who in ("admin", "supervisor"):
        client = browser()
        sign_in(client, shop.accounts[who])
        clients.append(client)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def confirm(client: Any) -> None:
        barrier.wait()
        response = client.post(
            f"/api/orders/{order['id']}/transitions", json={"action": "confirm"}, headers={"If-Match": '"1"'}
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=confirm, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    assert shop.row(order["id"])["version"] == 2


def test_the_timeline_shows_who_did_what_with_before_and_after(shop: Shop) -> None:
    order = shop.capture()
    rider = str(shop.accounts["logistics"].id)
    edited = (
        shop["supervisor"]
        .patch(
            f"/api/orders/{order['id']}",
            json={"notes": "Portón verde", "rider_id": rider},
            headers={"If-Match": '"1"'},
        )
        .json()
    )
    shop.step(edited, "confirm", "supervisor")
    response = shop["seller"].get(f"/api/orders/{order['id']}/timeline")
    assert response.status_code == 200
    events = response.json()["events"]
    assert [event["action"] for event in events] == [
        "order.created",
        "order.updated",
        "order.assigned",
        "order.status_changed",
    ]
    created, updated, assigned, confirmed = events
    assert created["actor_name"] == "Seller" and created["after"]["order_code"] == order["code"]
    assert updated["actor_name"] == "Supervisor"
    assert updated["before"] == {"notes": "Llamar antes de llegar"} and updated["after"] == {"notes": "Portón verde"}
    assert assigned["before"] == {"rider_id": None} and assigned["after"] == {"rider_id": rider}
    assert confirmed["before"]["status"] == "pending" and confirmed["after"]["status"] == "confirmed"
    assert events == sorted(events, key=lambda event: event["at"])


def test_logistics_does_not_read_the_timeline(shop: Shop) -> None:
    order = shop.step(shop.capture(), "confirm")
    assert shop["logistics"].get(f"/api/orders/{order['id']}/timeline").status_code == 403
