"""TOTP second factor: enrolment, login with a code, no replay, recovery codes, org requirement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine

from tests.conftest import Account, Database, sign_in


def enrol(client: Any) -> tuple[str, list[str]]:
    """Enrol the signed-in user; returns (seed, recovery codes)."""
    begun = client.post("/api/auth/mfa")
    assert begun.status_code == 201, begun.text
    secret = begun.json()["secret"]
    assert begun.json()["provisioning_uri"].startswith("otpauth://totp/Zentro:")
    confirmed = client.put("/api/auth/mfa", json={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def login(client: Any, account: Account, **factor: str) -> Any:
    return client.post("/api/auth/login", json={"email": account.email, "password": account.password, **factor})


@pytest.fixture
def enrolled(database: Database, browser: Any) -> tuple[Account, str, list[str]]:
    account = database.create_user(database.create_org(), "ADMIN")
    client = browser()
    sign_in(client, account)
    secret, codes = enrol(client)
    return account, secret, codes


def test_enrolment_needs_a_valid_first_code(database: Database, browser: Any) -> None:
    account = database.create_user(database.create_org())
    client = browser()
    sign_in(client, account)
    secret = client.post("/api/auth/mfa").json()["secret"]
    wrong = client.put(
        "/api/auth/mfa", json={"code": "000000" if code_at(secret, datetime.now(UTC)) != "000000" else "111111"}
    )
    assert wrong.status_code == 403
    assert client.get("/api/auth/session").json()["user"]["mfa_enabled"] is False
    right = client.put("/api/auth/mfa", json={"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 200
    assert len(right.json()["recovery_codes"]) == 10
    assert client.get("/api/auth/session").json()["user"]["mfa_enabled"] is True


def test_the_seed_is_stored_sealed(database: Database, enrolled: tuple[Account, str, list[str]]) -> None:
    account, secret, codes = enrolled
    with database.connect("superuser") as conn:
        stored = bytes(conn.execute("SELECT mfa_secret FROM users WHERE id = %s", (account.id,)).fetchone()[0])
        hashes = [
            bytes(r[0])
            for r in conn.execute("SELECT code_hash FROM mfa_recovery_codes WHERE user_id = %s", (account.id,))
        ]
    assert stored[0] == 1 and secret.encode() not in stored
    assert len(hashes) == 10 and not any(code.replace("-", "").encode() in h for code in codes for h in hashes)


def test_with_mfa_a_password_alone_does_not_sign_in(browser: Any, enrolled: tuple[Account, str, list[str]]) -> None:
    account, secret, _ = enrolled
    missing = login(browser(), account)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "mfa_required"
    assert "set-cookie" not in missing.headers
    # The enrolment used the current step's code; the next step's code signs in.
    later = datetime.now(UTC) + timedelta(seconds=30)
    with time_machine.travel(later, tick=False):
        assert login(browser(), account, totp_code=code_at(secret, later)).status_code == 200


def test_a_code_cannot_be_replayed(browser: Any, enrolled: tuple[Account, str, list[str]]) -> None:
    account, secret, _ = enrolled
    later = datetime.now(UTC) + timedelta(minutes=2)  # past the enrolment code's step
    with time_machine.travel(later, tick=False):
        code = code_at(secret, later)
        assert login(browser(), account, totp_code=code).status_code == 200
        replay = login(browser(), account, totp_code=code)
        assert replay.status_code == 401
        assert replay.json()["error"]["code"] == "invalid_mfa_code"
    with time_machine.travel(later + timedelta(seconds=30), tick=False):
        assert login(browser(), account, totp_code=code_at(secret, later + timedelta(seconds=30))).status_code == 200


def test_an_older_code_is_refused_after_a_newer_one(browser: Any, enrolled: tuple[Account, str, list[str]]) -> None:
    account, secret, _ = enrolled
    now = datetime.now(UTC) + timedelta(minutes=5)
    with time_machine.travel(now, tick=False):
        assert login(browser(), account, totp_code=code_at(secret, now)).status_code == 200
        previous_step = code_at(secret, now - timedelta(seconds=30))  # inside the drift window, but older
        assert login(browser(), account, totp_code=previous_step).status_code == 401


def test_recovery_codes_work_once(browser: Any, enrolled: tuple[Account, str, list[str]]) -> None:
    account, _, codes = enrolled
    assert login(browser(), account, recovery_code=codes[0]).status_code == 200
    assert login(browser(), account, recovery_code=codes[0]).status_code == 401
    assert login(browser(), account, recovery_code=codes[1].upper()).status_code == 200


def test_disabling_needs_the_password_and_a_code(browser: Any, enrolled: tuple[Account, str, list[str]]) -> None:
    account, secret, _ = enrolled
    client = browser()
    later = datetime.now(UTC) + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        assert login(client, account, totp_code=code_at(secret, later)).status_code == 200
    with time_machine.travel(later + timedelta(seconds=60), tick=False):
        code = code_at(secret, later + timedelta(seconds=60))
        bad = client.request("DELETE", "/api/auth/mfa", json={"password": "wrong-password", "totp_code": code})
        assert bad.status_code == 403
        ok = client.request("DELETE", "/api/auth/mfa", json={"password": account.password, "totp_code": code})
        assert ok.status_code == 204, ok.text
    assert login(browser(), account).status_code == 200  # password alone again


def test_an_organization_can_require_mfa_for_admins_and_supervisors(database: Database, browser: Any) -> None:
    org = database.create_org()
    admin = database.create_user(org, "ADMIN")
    seller = database.create_user(org, "SELLER")
    admin_client, seller_client = browser(), browser()
    sign_in(admin_client, admin)
    sign_in(seller_client, seller)
    assert admin_client.patch("/api/organization", json={"mfa_required": True}).json()["mfa_required"] is True

    blocked = admin_client.get("/api/users")
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "mfa_enrollment_required"
    session = admin_client.get("/api/auth/session")
    assert session.status_code == 200 and session.json()["mfa_enrollment_required"] is True
    assert seller_client.get("/api/organization").status_code == 200  # SELLER is not covered

    enrol(admin_client)
    assert admin_client.get("/api/users").status_code == 200
    # ... and cannot turn it off while the organization requires it.
    refused = admin_client.request("DELETE", "/api/auth/mfa", json={"password": admin.password, "recovery_code": "x"})
    assert refused.status_code == 409


def test_an_admin_can_reset_a_lost_second_factor(database: Database, browser: Any) -> None:
    org = database.create_org()
    admin = database.create_user(org, "ADMIN")
    supervisor = database.create_user(org, "SUPERVISOR")
    admin_client, supervisor_client = browser(), browser()
    sign_in(admin_client, admin)
    sign_in(supervisor_client, supervisor)
    enrol(supervisor_client)
    assert admin_client.delete(f"/api/users/{supervisor.id}/mfa").status_code == 204
    assert supervisor_client.get("/api/auth/session").status_code == 401  # sessions ended
    assert login(browser(), supervisor).status_code == 200  # password alone, must enrol again
    assert admin_client.delete(f"/api/users/{admin.id}/mfa").status_code == 409  # not one's own
    alerts = [m["template"] for m in database.emails_to(supervisor.email)]
    assert alerts.count("mfa_changed") == 2  # enabled, then reset
