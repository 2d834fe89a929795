"""User management by ADMIN: invite, list, change role, (de)activate; never across organizations."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lib import users
from lib.db import tenant_transaction
from lib.http.errors import ApiError
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from tests.conftest import Account, Database, sign_in


@pytest.fixture
def team(database: Database, browser: Any) -> dict[str, Any]:
    org = database.create_org("Tienda Norte")
    admin = database.create_user(org, "ADMIN", full_name="Admin Norte")
    seller = database.create_user(org, "SELLER")
    client = browser()
    sign_in(client, admin)
    return {"org": org, "admin": admin, "seller": seller, "client": client}


def row(database: Database, user_id: uuid.UUID) -> tuple[Any, ...]:
    with database.connect("superuser") as conn:
        return conn.execute("SELECT role, status, email FROM users WHERE id = %s", (user_id,)).fetchone()


def test_invite_creates_an_invited_user_and_queues_the_email(database: Database, team: dict[str, Any]) -> None:
    email = f"Nueva.{uuid.uuid4().hex[:6]}@Example.PE"
    response = team["client"].post(
        "/api/users", json={"email": email, "role": "LOGISTICS", "full_name": "Nueva", "language": "en"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["status"], body["language"]) == (
        email.lower(),
        "LOGISTICS",
        "invited",
        "en",
    )
    [message] = database.emails_to(email.lower())
    assert message["template"] == "invitation"
    assert "Tienda Norte" in message["text"] and "Admin Norte" in message["text"]
    assert message["subject"] != "" and "invit" in message["subject"].lower()


def test_an_address_of_this_organization_cannot_be_invited_twice(database: Database, team: dict[str, Any]) -> None:
    colleague = database.create_user(team["admin"].org_id)
    response = team["client"].post(
        "/api/users", json={"email": colleague.email.upper(), "role": "SELLER", "full_name": "X"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_unavailable"


@pytest.mark.parametrize("extra", [{"org_id": str(uuid.uuid4())}, {"status": "active"}, {"created_by": "me"}])
def test_invite_refuses_fields_it_does_not_take(team: dict[str, Any], extra: dict[str, str]) -> None:
    body = {"email": f"m-{uuid.uuid4().hex[:6]}@example.pe", "role": "SELLER", "full_name": "M", **extra}
    assert team["client"].post("/api/users", json=body).status_code == 422
    del body[next(iter(extra))]
    assert team["client"].post("/api/users", json=body).status_code == 201


def test_list_shows_only_this_organization(database: Database, team: dict[str, Any]) -> None:
    stranger = database.create_user(database.create_org())
    listed = {user["id"] for user in team["client"].get("/api/users").json()["users"]}
    assert listed == {str(team["admin"].id), str(team["seller"].id)}
    assert str(stranger.id) not in listed


def test_nobody_changes_their_own_role_or_deactivates_themselves(team: dict[str, Any]) -> None:
    own = f"/api/users/{team['admin'].id}"
    role = team["client"].patch(own, json={"role": "SELLER"})
    assert (role.status_code, role.json()["error"]["code"]) == (409, "cannot_change_own_role")
    off = team["client"].patch(own, json={"active": False})
    assert (off.status_code, off.json()["error"]["code"]) == (409, "cannot_deactivate_self")


def _ctx(account: Account) -> TenantContext:
    return TenantContext(
        org_id=account.org_id,
        actor=Actor(user_id=account.id, role=Role(account.role)),
        request=RequestMeta(request_id="test", client_ip=None, user_agent=None),
    )


def test_the_last_active_admin_cannot_be_removed(database: Database) -> None:
    org = database.create_org()
    admin = database.create_user(org, "ADMIN")
    other = database.create_user(org, "SUPERVISOR")  # acting through lib, bypassing the API's policy
    now = datetime.now(UTC)
    for change in (
        lambda tx: users.set_active(tx, admin.id, False, now),
        lambda tx: users.change_role(tx, admin.id, Role.SELLER, now),
    ):
        with pytest.raises(ApiError) as refused, tenant_transaction(_ctx(other)) as tx:
            change(tx)
        assert refused.value.code == "last_admin"
    # With a second active admin, the same change goes through.
    database.create_user(org, "ADMIN")
    with tenant_transaction(_ctx(other)) as tx:
        assert users.change_role(tx, admin.id, Role.SELLER, now).role == Role.SELLER


def test_two_admins_removing_each_other_at_once_leave_one(database: Database) -> None:
    org = database.create_org()
    first, second = database.create_user(org, "ADMIN"), database.create_user(org, "ADMIN")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def remove(actor: Account, target: Account) -> None:
        try:
            with tenant_transaction(_ctx(actor)) as tx:
                barrier.wait()
                users.set_active(tx, target.id, False, datetime.now(UTC))
            outcomes[actor.email] = "done"
        except ApiError as exc:
            outcomes[actor.email] = exc.code

    threads = [threading.Thread(target=remove, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes.values()) == ["done", "last_admin"]
    with database.connect("superuser") as conn:
        active = conn.execute(
            "SELECT count(*) FROM users WHERE org_id = %s AND role = 'ADMIN' AND status = 'active'", (org,)
        ).fetchone()[0]
    assert active == 1


def test_role_values_are_validated(team: dict[str, Any]) -> None:
    assert team["client"].patch(f"/api/users/{team['seller'].id}", json={"role": "ROOT"}).status_code == 422
    assert team["client"].patch(f"/api/users/{team['seller'].id}", json={"role": "SUPERVISOR"}).status_code == 200


def test_a_cross_tenant_lookup_leaves_a_security_event(
    database: Database, team: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    stranger = database.create_user(database.create_org())
    with caplog.at_level(logging.INFO, logger="zentro.security"):
        assert team["client"].get(f"/api/users/{team['seller'].id}").status_code == 200
        assert not [r for r in caplog.records if r.msg == "object_not_found"]
        assert team["client"].get(f"/api/users/{stranger.id}").status_code == 404
    [event] = [r for r in caplog.records if r.msg == "object_not_found"]
    assert event.object_id == str(stranger.id) and event.actor == str(team["admin"].id)  # type: ignore[attr-defined]


def test_another_organizations_user_is_not_found_and_untouched(database: Database, team: dict[str, Any]) -> None:
    other_org = database.create_org()
    stranger = database.create_user(other_org, "SELLER")
    database.create_user(other_org, "ADMIN")
    before = row(database, stranger.id)
    client = team["client"]
    for response in (
        client.get(f"/api/users/{stranger.id}"),
        client.patch(f"/api/users/{stranger.id}", json={"role": "ADMIN"}),
        client.patch(f"/api/users/{stranger.id}", json={"active": False}),
        client.delete(f"/api/users/{stranger.id}/mfa"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert row(database, stranger.id) == before
    # The same requests on this organization's own user are not 404.
    assert client.get(f"/api/users/{team['seller'].id}").status_code == 200


def test_malformed_ids_are_404(team: dict[str, Any]) -> None:
    assert team["client"].get("/api/users/not-a-uuid").status_code == 404
    assert team["client"].get("/api/users/' OR 1=1--").status_code == 404
