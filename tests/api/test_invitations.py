"""Invitations say nothing about other organizations, and a lost one can be sent again.

Issue 17 #9: inviting an address that has an account in another organization answered 409, so
any ADMIN could test whether any email is a user elsewhere. Now the answer, its status, the work
done (counted in database round trips) and the one email queued are the same either way; only
the email's content differs, and it goes to the address's owner.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scripts.roundtrips import RoundTripProxy
from tests.conftest import Account, Database, sign_in

NEW_PASSWORD = "Lomo-Saltado-con-Arroz-9"


@pytest.fixture
def team(database: Database, browser: Any) -> dict[str, Any]:
    org = database.create_org("Tienda Centro")
    admin = database.create_user(org, "ADMIN", full_name="Admin Centro")
    client = browser()
    sign_in(client, admin)
    return {"org": org, "admin": admin, "client": client}


def fresh_email() -> str:
    return f"invitada-{uuid.uuid4().hex[:10]}@example.pe"


def invite(client: Any, email: str) -> Any:
    return client.post("/api/users", json={"email": email, "role": "SELLER", "full_name": "Invitada"})


def shape(response: Any) -> tuple[int, list[str], tuple[Any, ...]]:
    body = response.json()
    return response.status_code, sorted(body), (body["role"], body["status"], body["language"], body["mfa_enabled"])


def test_inviting_an_address_that_has_an_account_elsewhere_answers_and_costs_the_same(
    database: Database, team: dict[str, Any], round_trips: RoundTripProxy
) -> None:
    elsewhere = database.create_user(database.create_org("Otra Tienda"), "SUPERVISOR")
    unknown = fresh_email()
    invite(team["client"], fresh_email())  # warm: the first request of a client costs a session lookup
    answers, trips = [], []
    for email in (unknown, elsewhere.email):
        with round_trips.counting() as count:
            answers.append(invite(team["client"], email))
        trips.append(count.value)
    assert (
        shape(answers[0]) == shape(answers[1]) == (201, sorted(answers[0].json()), ("SELLER", "invited", "es", False))
    )
    assert trips[0] == trips[1]

    # One email each, to the address: an invitation to the stranger, a notice to the account's owner.
    [invitation] = database.emails_to(unknown)
    [notice] = database.emails_to(elsewhere.email)
    assert invitation["template"] == "invitation" and invitation["token"]
    assert notice["template"] == "invitation_unavailable" and notice["token"] is None
    assert "Tienda Centro" in notice["text"] and "Otra Tienda" not in notice["text"]

    # The other organization's account is untouched and still signs in.
    with database.connect("superuser") as conn:
        [[org_id, status]] = conn.execute(
            "SELECT org_id, status FROM users WHERE email = %s AND status <> 'invited'", (elsewhere.email,)
        ).fetchall()
    assert (org_id, status) == (elsewhere.org_id, "active")


def test_an_invitation_whose_address_became_an_account_elsewhere_cannot_be_accepted(
    database: Database, team: dict[str, Any], browser: Any
) -> None:
    email = fresh_email()
    assert invite(team["client"], email).status_code == 201
    [message] = database.emails_to(email)
    # Meanwhile another organization's invitation to the same address was accepted.
    database.create_user(database.create_org(), "SELLER", email=email)
    refused = browser().post("/api/auth/invitation", json={"token": message["token"], "password": NEW_PASSWORD})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "email_unavailable"
    with database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT u.status, t.used_at IS NULL FROM users u JOIN auth_tokens t ON t.user_id = u.id "
            "WHERE u.org_id = %s AND u.email = %s",
            (team["org"], email),
        ).fetchall()
    assert rows == [("invited", True)]  # nothing changed: not activated, the token not spent


def test_an_invitation_can_be_sent_again_and_the_old_link_stops_working(
    database: Database, team: dict[str, Any], browser: Any
) -> None:
    email = fresh_email()
    user_id = invite(team["client"], email).json()["id"]
    [first] = database.emails_to(email)
    again = team["client"].post(f"/api/users/{user_id}/invitation")
    assert again.status_code == 202 and again.json()["status"] == "invited"
    second = database.emails_to(email)[-1]
    assert second["template"] == "invitation" and second["token"] not in (None, first["token"])
    stale = browser().post("/api/auth/invitation", json={"token": first["token"], "password": NEW_PASSWORD})
    assert stale.status_code == 404
    accepted = browser().post("/api/auth/invitation", json={"token": second["token"], "password": NEW_PASSWORD})
    assert accepted.status_code == 200, accepted.text
    with database.connect("superuser") as conn:
        actions = [
            row[0]
            for row in conn.execute(
                "SELECT action FROM audit_events WHERE org_id = %s AND target_id = %s ORDER BY occurred_at, seq",
                (team["org"], user_id),
            )
        ]
    assert actions == ["user.invited", "user.invitation_resent", "user.invitation_accepted"]


def test_only_a_pending_invitation_is_sent_again(database: Database, team: dict[str, Any]) -> None:
    active: Account = database.create_user(team["org"], "SELLER")
    refused = team["client"].post(f"/api/users/{active.id}/invitation")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "user_not_invited"
    stranger = database.create_user(database.create_org(), "SELLER", status="invited")
    assert team["client"].post(f"/api/users/{stranger.id}/invitation").status_code == 404
    assert database.emails_to(active.email) == database.emails_to(stranger.email) == []
