"""Each sensitive identity action leaves exactly one audit event, with who, what, where."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine

from tests.conftest import Account, Database, run_reset_requests, sign_in

NEW_PASSWORD = "Chicha-Morada-Helada-44"


def events(database: Database, org: Any, action: str) -> list[tuple[Any, ...]]:
    with database.connect("superuser") as conn:
        return conn.execute(
            "SELECT actor_user_id, target_id, host(client_ip), before, after FROM audit_events "
            "WHERE org_id = %s AND action = %s",
            (org, action),
        ).fetchall()


def enrol(client: Any) -> str:
    secret = client.post("/api/auth/mfa").json()["secret"]
    assert client.put("/api/auth/mfa", json={"code": pyotp.TOTP(secret).now()}).status_code == 200
    return secret


Scenario = Callable[[Database, Any, Account, Any, Account], None]


def login_ok(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    sign_in(browser(), seller)


def login_failed(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    browser().post("/api/auth/login", json={"email": seller.email, "password": "not-it-at-all"})


def logout(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    client = browser()
    sign_in(client, seller)
    assert client.post("/api/auth/logout").status_code == 204


def password_changed(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    client = browser()
    sign_in(client, seller)
    body = {"current_password": seller.password, "new_password": NEW_PASSWORD}
    assert client.put("/api/auth/password", json=body).status_code == 204


def password_reset(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    browser().post("/api/auth/password_reset", json={"email": seller.email})
    run_reset_requests()
    token = db.emails_to(seller.email)[-1]["token"]
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert browser().post("/api/auth/password_reset/confirm", json=body).status_code == 204


def invited(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    body = {"email": "audit-invite-" + str(seller.id)[:8] + "@example.pe", "role": "SELLER", "full_name": "A"}
    assert admin_client.post("/api/users", json=body).status_code == 201


def role_changed(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    assert admin_client.patch(f"/api/users/{seller.id}", json={"role": "LOGISTICS"}).status_code == 200


def deactivated(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    assert admin_client.patch(f"/api/users/{seller.id}", json={"active": False}).status_code == 200


def reactivated(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    assert admin_client.patch(f"/api/users/{seller.id}", json={"active": False}).status_code == 200
    assert admin_client.patch(f"/api/users/{seller.id}", json={"active": True}).status_code == 200


def mfa_enrolled(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    client = browser()
    sign_in(client, seller)
    enrol(client)


def mfa_disabled(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    client = browser()
    sign_in(client, seller)
    secret = enrol(client)
    later = datetime.now(UTC) + timedelta(seconds=30)
    with time_machine.travel(later, tick=False):
        body = {"password": seller.password, "totp_code": pyotp.TOTP(secret).at(later)}
        assert client.request("DELETE", "/api/auth/mfa", json=body).status_code == 204


def mfa_reset(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    client = browser()
    sign_in(client, seller)
    enrol(client)
    assert admin_client.delete(f"/api/users/{seller.id}/mfa").status_code == 204


def mfa_requirement(db: Database, browser: Any, admin: Account, admin_client: Any, seller: Account) -> None:
    assert admin_client.patch("/api/organization", json={"mfa_required": True}).status_code == 200


CASES: list[tuple[str, Scenario, str]] = [
    ("auth.login_succeeded", login_ok, "seller"),
    ("auth.login_failed", login_failed, None),  # type: ignore[list-item]
    ("auth.logout", logout, "seller"),
    ("auth.password_changed", password_changed, "seller"),
    ("auth.password_reset", password_reset, "seller"),
    ("user.invited", invited, "admin"),
    ("user.role_changed", role_changed, "admin"),
    ("user.deactivated", deactivated, "admin"),
    ("user.reactivated", reactivated, "admin"),
    ("auth.mfa_enrolled", mfa_enrolled, "seller"),
    ("auth.mfa_disabled", mfa_disabled, "seller"),
    ("user.mfa_reset", mfa_reset, "admin"),
    ("organization.mfa_requirement_changed", mfa_requirement, "admin"),
]


@pytest.mark.parametrize(("action", "scenario", "actor"), CASES, ids=[case[0] for case in CASES])
def test_each_action_is_audited_exactly_once(
    database: Database, browser: Any, action: str, scenario: Scenario, actor: str | None
) -> None:
    org = database.create_org()
    admin = database.create_user(org, "ADMIN")
    seller = database.create_user(org, "SELLER")
    admin_client = browser()
    sign_in(admin_client, admin)
    already = events(database, org, action)  # e.g. the admin's own sign-in above
    scenario(database, browser, admin, admin_client, seller)
    found = [event for event in events(database, org, action) if event not in already]
    assert len(found) == 1, found
    actor_id, _, _, before, after = found[0]
    expected_actor = {"admin": admin.id, "seller": seller.id, None: None}[actor]
    assert actor_id == expected_actor
    for secret in (NEW_PASSWORD, seller.password, admin.password, "not-it-at-all"):
        assert secret not in str(before) and secret not in str(after)
