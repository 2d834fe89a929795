"""Invitations and password resets: single-use, expiring, hashed, purpose-bound, never logged."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tests.conftest import Account, Database, run_reset_requests, sign_in

NEW_PASSWORD = "Lomo-Saltado-con-Arroz-9"


@pytest.fixture
def admin(database: Database, browser: Any) -> tuple[Account, Any]:
    account = database.create_user(database.create_org("Bodega Sur"), "ADMIN")
    client = browser()
    sign_in(client, account)
    return account, client


def invite(client: Any, email: str, role: str = "SELLER") -> Any:
    response = client.post("/api/users", json={"email": email, "role": role, "full_name": "Invitada"})
    assert response.status_code == 201, response.text
    return response


def request_reset(browser: Any, email: str) -> Any:
    """Ask for a reset link, then let the outbox cron act on the request (it queues the email)."""
    response = browser().post("/api/auth/password_reset", json={"email": email})
    run_reset_requests()
    return response


def new_email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.pe"


def test_an_invitation_is_accepted_once_and_signs_in(
    database: Database, browser: Any, admin: tuple[Account, Any]
) -> None:
    _, admin_client = admin
    email = new_email()
    invite(admin_client, email)
    [message] = database.emails_to(email)
    assert message["template"] == "invitation" and message["token"]
    client = browser()
    accepted = client.post("/api/auth/invitation", json={"token": message["token"], "password": NEW_PASSWORD})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["user"]["status"] == "active"
    assert client.get("/api/auth/session").status_code == 200
    again = browser().post("/api/auth/invitation", json={"token": message["token"], "password": NEW_PASSWORD})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "invalid_token"


def test_tokens_have_one_purpose(database: Database, browser: Any, admin: tuple[Account, Any]) -> None:
    account, admin_client = admin
    email = new_email()
    invite(admin_client, email)
    invitation_token = database.emails_to(email)[0]["token"]
    assert request_reset(browser, account.email).status_code == 202
    reset_token = next(m for m in database.emails_to(account.email) if m["template"] == "password_reset")["token"]

    # An invitation token cannot reset a password, and a reset token cannot accept an invitation.
    crossed_reset = browser().post(
        "/api/auth/password_reset/confirm", json={"token": invitation_token, "new_password": NEW_PASSWORD}
    )
    crossed_invite = browser().post("/api/auth/invitation", json={"token": reset_token, "password": NEW_PASSWORD})
    assert crossed_reset.status_code == crossed_invite.status_code == 404
    # Each still works for its own purpose.
    ok_reset = browser().post(
        "/api/auth/password_reset/confirm", json={"token": reset_token, "new_password": NEW_PASSWORD}
    )
    ok_invite = browser().post("/api/auth/invitation", json={"token": invitation_token, "password": NEW_PASSWORD})
    assert ok_reset.status_code == 204 and ok_invite.status_code == 200


def test_a_reset_ends_every_session_and_the_old_password(
    database: Database, browser: Any, admin: tuple[Account, Any]
) -> None:
    account, admin_client = admin
    request_reset(browser, account.email)
    token = database.emails_to(account.email)[-1]["token"]
    assert admin_client.get("/api/auth/session").status_code == 200
    done = browser().post("/api/auth/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    assert admin_client.get("/api/auth/session").status_code == 401
    old = browser().post("/api/auth/login", json={"email": account.email, "password": account.password})
    assert old.status_code == 401
    new = browser().post("/api/auth/login", json={"email": account.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    reused = browser().post(
        "/api/auth/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD + "x"}
    )
    assert reused.status_code == 404


def test_reset_tokens_expire_after_an_hour(database: Database, browser: Any, admin: tuple[Account, Any]) -> None:
    account, _ = admin
    request_reset(browser, account.email)
    token = database.emails_to(account.email)[-1]["token"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61)):
        late = browser().post("/api/auth/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert late.status_code == 404
    on_time = browser().post("/api/auth/password_reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert on_time.status_code == 204


def test_a_newer_reset_voids_the_older_link(database: Database, browser: Any, admin: tuple[Account, Any]) -> None:
    account, _ = admin
    request_reset(browser, account.email)
    request_reset(browser, account.email)
    first, second = [m["token"] for m in database.emails_to(account.email) if m["template"] == "password_reset"][-2:]
    assert (
        browser()
        .post("/api/auth/password_reset/confirm", json={"token": first, "new_password": NEW_PASSWORD})
        .status_code
        == 404
    )
    assert (
        browser()
        .post("/api/auth/password_reset/confirm", json={"token": second, "new_password": NEW_PASSWORD})
        .status_code
        == 204
    )


def _reset_bookkeeping(database: Database) -> tuple[int, ...]:
    """What a reset request could have written: stored requests, tokens, queued jobs, audit events."""
    with database.connect("superuser") as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # fixed table names
            for table in ("password_reset_requests", "auth_tokens", "jobs", "audit_events")
        )


def test_requesting_a_reset_answers_the_same_and_does_the_same_work_whether_or_not_the_email_exists(
    database: Database, browser: Any, admin: tuple[Account, Any]
) -> None:
    account, _ = admin
    stranger = new_email()
    answers, work = [], []
    for email in (account.email, stranger):
        before = _reset_bookkeeping(database)
        answers.append(browser().post("/api/auth/password_reset", json={"email": email}))
        work.append(tuple(after - first for after, first in zip(_reset_bookkeeping(database), before, strict=True)))
    assert [(r.status_code, r.json()) for r in answers] == [(202, {"status": "sent_if_registered"})] * 2
    # Before answering, each request stored itself and nothing else: no token, email or audit event yet.
    assert work == [(1, 0, 0, 0), (1, 0, 0, 0)]
    assert run_reset_requests() == 2  # the outbox cron acts on both
    assert database.emails_to(stranger) == []
    assert [m["template"] for m in database.emails_to(account.email)] == ["password_reset"]
    assert _reset_bookkeeping(database)[0] == 0  # and keeps neither address


def test_reset_requests_are_capped_per_email(database: Database, browser: Any, admin: tuple[Account, Any]) -> None:
    account, _ = admin
    for _ in range(5):
        assert request_reset(browser, account.email).status_code == 202  # the same answer past the cap
    assert [m["template"] for m in database.emails_to(account.email)].count("password_reset") == 3


def test_reset_requests_are_capped_per_client_address(router: Any) -> None:
    from starlette.testclient import TestClient

    def from_address(ip: str) -> TestClient:
        return TestClient(router, base_url="http://localhost:3000", client=(ip, 40000))

    prober = from_address("198.51.100.70")
    statuses = [prober.post("/api/auth/password_reset", json={"email": new_email()}).status_code for _ in range(11)]
    assert statuses == [202] * 10 + [429]
    refused = prober.post("/api/auth/password_reset", json={"email": new_email()})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "too_many_requests"
    # Another address is not held back by the first one's requests.
    assert (
        from_address("198.51.100.71").post("/api/auth/password_reset", json={"email": new_email()}).status_code == 202
    )


def test_tokens_are_stored_hashed_and_never_logged(
    database: Database, browser: Any, admin: tuple[Account, Any], caplog: pytest.LogCaptureFixture
) -> None:
    account, admin_client = admin
    email = new_email()
    with caplog.at_level(logging.DEBUG):
        invite(admin_client, email)
        request_reset(browser, account.email)
        invitation = database.emails_to(email)[0]["token"]
        reset = database.emails_to(account.email)[-1]["token"]
        browser().post("/api/auth/invitation", json={"token": invitation, "password": NEW_PASSWORD})
        browser().post("/api/auth/password_reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD})
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert invitation not in logged and reset not in logged
    with database.connect("superuser") as conn:
        dump = str(conn.execute("SELECT * FROM auth_tokens").fetchall()) + str(
            conn.execute("SELECT * FROM audit_events").fetchall()
        )
    assert invitation not in dump and reset not in dump


def test_an_invitation_for_a_deactivated_user_no_longer_works(
    database: Database, browser: Any, admin: tuple[Account, Any]
) -> None:
    _, admin_client = admin
    email = new_email()
    user_id = invite(admin_client, email).json()["id"]
    token = database.emails_to(email)[0]["token"]
    assert admin_client.patch(f"/api/users/{user_id}", json={"active": False}).status_code == 200
    assert browser().post("/api/auth/invitation", json={"token": token, "password": NEW_PASSWORD}).status_code == 404
