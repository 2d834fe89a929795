"""Login, sessions and throttling, through the real router and a real Postgres."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from starlette.testclient import TestClient

from lib.auth import sessions
from lib.config import settings
from tests.conftest import Account, Database, sign_in

COOKIE = "zentro_session"


def attempt(client: Any, email: str, password: str, **headers: str) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


def body_without_request_id(response: Any) -> dict[str, Any]:
    error = dict(response.json()["error"])
    error.pop("request_id")
    return error


@pytest.fixture
def account(database: Database) -> Account:
    return database.create_user(database.create_org(), "SUPERVISOR")


# --- one answer for every wrong credential ------------------------------------------------------


def test_unknown_user_wrong_password_deactivated_and_invited_get_the_same_answer(
    database: Database, browser: Any, account: Account
) -> None:
    deactivated = database.create_user(account.org_id, status="deactivated")
    invited = database.create_user(account.org_id, status="invited")
    answers = [
        attempt(browser(), f"nobody-{uuid.uuid4().hex[:8]}@example.pe", account.password),
        attempt(browser(), account.email, account.password + "x"),
        attempt(browser(), deactivated.email, deactivated.password),
        attempt(browser(), invited.email, invited.password),
    ]
    assert {response.status_code for response in answers} == {401}
    assert {str(body_without_request_id(r)) for r in answers} == {
        str({"code": "invalid_credentials", "message": "Correo o contraseña incorrectos."})
    }
    assert all("set-cookie" not in response.headers for response in answers)
    sign_in(browser(), account)  # the same account with the right password does get in


def test_email_is_case_insensitive(browser: Any, account: Account) -> None:
    response = attempt(browser(), account.email.upper(), account.password)
    assert response.status_code == 200


# --- sessions -------------------------------------------------------------------------------------


def set_cookie(response: Any) -> dict[str, str]:
    header = response.headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in header.split(";")]
    name, value = name_value.split("=", 1)
    flags = {a.split("=", 1)[0].lower(): (a.split("=", 1)[1] if "=" in a else "") for a in attributes}
    return {"name": name, "value": value, **flags}


def test_the_cookie_is_httponly_lax_host_wide_and_the_token_only_travels_in_it(browser: Any, account: Account) -> None:
    response = sign_in(browser(), account)
    cookie = set_cookie(response)
    assert cookie["name"] == COOKIE  # locally: no Secure, so no __Host- prefix (configuration)
    assert "httponly" in cookie and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert "domain" not in cookie and "secure" not in cookie
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie["value"])  # 256 bits, base64url
    assert cookie["value"] not in response.text


def test_in_production_the_cookie_is_secure_and_host_prefixed(account: Account) -> None:
    from dataclasses import replace

    secure = replace(settings(), session_cookie_secure=True)
    header = sessions.cookie_header(secure, "T" * 43)
    parts = [part.strip() for part in header.split(";")]
    assert parts[0] == "__Host-zentro_session=" + "T" * 43
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= set(parts)
    assert not any(part.lower().startswith("domain") for part in parts)
    cleared = sessions.clearing_cookie_header(secure)
    assert cleared.startswith("__Host-zentro_session=;") and "Secure" in cleared and "Max-Age=0" in cleared


def test_no_log_line_carries_the_password_or_the_session_token(
    browser: Any, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        failed = attempt(browser(), account.email, "a-wrong-Secret-987")
        token = set_cookie(sign_in(browser(), account))["value"]
    assert failed.status_code == 401
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert caplog.records  # the attempts were logged ...
    for secret in (account.password, "a-wrong-Secret-987", token):
        assert secret not in logged  # ... without what was typed or issued


def test_session_tokens_are_unique_and_long() -> None:
    tokens = {sessions.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)


def test_only_the_token_hash_is_stored(database: Database, browser: Any, account: Account) -> None:
    token = set_cookie(sign_in(browser(), account))["value"]
    with database.connect("superuser") as conn:
        rows = conn.execute("SELECT token_hash FROM sessions WHERE user_id = %s", (account.id,)).fetchall()
        dump = str(conn.execute("SELECT * FROM sessions WHERE user_id = %s", (account.id,)).fetchall())
    assert [bytes(r[0]) for r in rows] == [sessions.token_hash(token)]
    assert token not in dump


def test_each_login_gets_a_new_token_and_a_planted_cookie_stops_working(browser: Any, account: Account) -> None:
    attacker = browser()
    planted = set_cookie(sign_in(attacker, account))["value"]  # a live session the attacker knows
    victim = browser()
    victim.cookies.set(COOKIE, planted)
    assert victim.get("/api/auth/session").status_code == 200  # before login, the planted cookie works
    fresh = set_cookie(sign_in(victim, account))["value"]
    assert fresh != planted
    assert victim.get("/api/auth/session").status_code == 200
    replay = browser()
    replay.cookies.set(COOKIE, planted)
    assert replay.get("/api/auth/session").status_code == 401


def test_session_reports_user_organization_role_and_permissions(browser: Any, account: Account) -> None:
    client = browser()
    sign_in(client, account)
    body = client.get("/api/auth/session").json()
    assert body["user"]["id"] == str(account.id)
    assert body["user"]["role"] == "SUPERVISOR"
    assert body["organization"]["id"] == str(account.org_id)
    assert body["permissions"] == [
        "session.read",
        "session.end",
        "password.change",
        "mfa.manage_own",
        "users.read",
        "organization.read",
        "orders.create",
        "orders.read",
        "orders.edit",
        "orders.transition",
        "orders.timeline",
        "orders.import",
        "orders.export",
        "customers.lookup",
        "payments.read",
        "payments.record",
        "payments.review",
        "collections.record",
        "settlements.manage",
        "reports.riders",
        "shipments.manage",
    ]
    assert body["mfa_enrollment_required"] is False


def test_logout_revokes_the_session_on_the_server(browser: Any, account: Account) -> None:
    client = browser()
    token = set_cookie(sign_in(client, account))["value"]
    response = client.post("/api/auth/logout")
    assert response.status_code == 204
    assert set_cookie(response)["max-age"] == "0"
    replay = browser()
    replay.cookies.set(COOKIE, token)
    assert replay.get("/api/auth/session").status_code == 401


def test_no_cookie_or_a_forged_one_is_401(browser: Any) -> None:
    client = browser()
    assert client.get("/api/auth/session").status_code == 401
    client.cookies.set(COOKIE, "A" * 43)
    assert client.get("/api/auth/session").status_code == 401
    client.cookies.set(COOKIE, "not a token; x=1")
    assert client.get("/api/auth/session").status_code == 401


def test_idle_timeout(browser: Any, account: Account) -> None:
    idle = timedelta(minutes=settings().session_idle_minutes)
    start = datetime.now(UTC)
    client = browser()
    with time_machine.travel(start, tick=False):
        sign_in(client, account)
    with time_machine.travel(start + idle - timedelta(minutes=1), tick=False):
        assert client.get("/api/auth/session").status_code == 200  # activity: the idle clock restarts
    with time_machine.travel(start + 2 * idle - timedelta(minutes=2), tick=False):
        assert client.get("/api/auth/session").status_code == 200
    with time_machine.travel(start + 3 * idle, tick=False):
        assert client.get("/api/auth/session").status_code == 401  # idle for more than the limit


def test_absolute_lifetime_even_when_active(browser: Any, account: Account) -> None:
    lifetime = timedelta(hours=settings().session_absolute_hours)
    step = timedelta(minutes=settings().session_idle_minutes - 5)
    start = datetime.now(UTC)
    client = browser()
    with time_machine.travel(start, tick=False):
        sign_in(client, account)
    moment = start
    while moment + step < start + lifetime:
        moment += step
        with time_machine.travel(moment, tick=False):
            assert client.get("/api/auth/session").status_code == 200
    with time_machine.travel(start + lifetime + timedelta(minutes=1), tick=False):
        assert client.get("/api/auth/session").status_code == 401


def test_deactivating_a_user_ends_their_live_sessions(database: Database, browser: Any, account: Account) -> None:
    seller = database.create_user(account.org_id, "SELLER")
    admin = database.create_user(account.org_id, "ADMIN")
    seller_client, admin_client = browser(), browser()
    sign_in(seller_client, seller)
    sign_in(admin_client, admin)
    assert seller_client.get("/api/auth/session").status_code == 200
    assert admin_client.patch(f"/api/users/{seller.id}", json={"active": False}).status_code == 200
    assert seller_client.get("/api/auth/session").status_code == 401
    assert admin_client.patch(f"/api/users/{seller.id}", json={"active": True}).status_code == 200
    sign_in(seller_client, seller)  # reactivated: can sign in again


def test_role_change_ends_the_users_sessions(database: Database, browser: Any, account: Account) -> None:
    seller = database.create_user(account.org_id, "SELLER")
    admin = database.create_user(account.org_id, "ADMIN")
    seller_client, admin_client = browser(), browser()
    sign_in(seller_client, seller)
    sign_in(admin_client, admin)
    assert admin_client.patch(f"/api/users/{seller.id}", json={"role": "LOGISTICS"}).json()["role"] == "LOGISTICS"
    assert seller_client.get("/api/auth/session").status_code == 401
    sign_in(seller_client, seller)
    assert seller_client.get("/api/auth/session").json()["user"]["role"] == "LOGISTICS"


def test_password_change_ends_other_sessions_but_not_this_one(
    database: Database, browser: Any, account: Account
) -> None:
    laptop, phone = browser(), browser()
    sign_in(laptop, account)
    sign_in(phone, account)
    new = "Otra-Clave-Mas-Larga-2026"
    wrong = laptop.put("/api/auth/password", json={"current_password": "nope-nope", "new_password": new})
    assert wrong.status_code == 403
    assert phone.get("/api/auth/session").status_code == 200  # a failed change changes nothing
    ok = laptop.put("/api/auth/password", json={"current_password": account.password, "new_password": new})
    assert ok.status_code == 204
    assert laptop.get("/api/auth/session").status_code == 200
    assert phone.get("/api/auth/session").status_code == 401
    assert attempt(browser(), account.email, account.password).status_code == 401
    assert attempt(browser(), account.email, new).status_code == 200
    alerts = [m for m in database.emails_to(account.email) if m["template"] == "password_changed"]
    assert len(alerts) == 1


def test_a_weak_new_password_is_refused_with_a_clear_message(browser: Any, account: Account) -> None:
    client = browser()
    sign_in(client, account)
    response = client.put(
        "/api/auth/password",
        json={"current_password": account.password, "new_password": "password123"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "password_too_common"
    assert "most common" in response.json()["error"]["message"]
    short = client.put("/api/auth/password", json={"current_password": account.password, "new_password": "Ab3$efg"})
    assert short.status_code == 422


# --- throttling -----------------------------------------------------------------------------------


def client_from(router: Any, ip: str) -> TestClient:
    return TestClient(router, base_url="http://localhost:3000", client=(ip, 40000))


def test_repeated_failures_on_an_account_lock_it_with_429(router: Any, account: Account) -> None:
    client = client_from(router, "198.51.100.1")
    for _ in range(5):
        assert attempt(client, account.email, "wrong-password").status_code == 401
    locked = attempt(client, account.email, "wrong-password")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    # Locked means locked: even the right password waits (from another address too).
    assert attempt(client_from(router, "198.51.100.2"), account.email, account.password).status_code == 429
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=int(locked.headers["retry-after"]) + 1)):
        assert attempt(client, account.email, account.password).status_code == 200


def test_unknown_accounts_are_throttled_exactly_like_known_ones(router: Any) -> None:
    client = client_from(router, "198.51.100.3")
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.pe"
    statuses = [attempt(client, email, "wrong-password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_many_accounts_from_one_address_lock_the_address_even_with_forged_forwarding(
    database: Database, router: Any
) -> None:
    org = database.create_org()
    client = client_from(router, "203.0.113.77")
    statuses = []
    for index in range(21):
        forged = {"X-Forwarded-For": f"10.0.{index}.{index}", "X-Real-IP": f"10.1.{index}.1"}
        statuses.append(
            attempt(client, f"spray-{index}-{uuid.uuid4().hex[:6]}@example.pe", "Password1!", **forged).status_code
        )
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    # The same burst from another (real) address is not locked by the first address's failures.
    victim = database.create_user(org)
    assert attempt(client_from(router, "203.0.113.78"), victim.email, victim.password).status_code == 200


def test_the_audit_trail_records_the_socket_address_not_a_forged_one(database: Database, router: Any) -> None:
    account = database.create_user(database.create_org())
    client = client_from(router, "192.0.2.44")
    response = attempt(
        client, account.email, account.password, **{"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"}
    )
    assert response.status_code == 200
    with database.connect("superuser") as conn:
        ips = conn.execute(
            "SELECT host(client_ip) FROM audit_events WHERE org_id = %s AND action = 'auth.login_succeeded'",
            (account.org_id,),
        ).fetchall()
    assert ips == [("192.0.2.44",)]


def test_login_failures_are_audited_without_the_password(database: Database, browser: Any, account: Account) -> None:
    attempt(browser(), account.email, "the-attempted-secret-123")
    with database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT action, after::text FROM audit_events WHERE org_id = %s AND action = 'auth.login_failed'",
            (account.org_id,),
        ).fetchall()
    assert len(rows) == 1
    assert "wrong_password" in rows[0][1]
    assert "the-attempted-secret-123" not in rows[0][1]
