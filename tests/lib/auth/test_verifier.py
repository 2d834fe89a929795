"""Every check of a password or a second factor counts on one allowance, and leaves an audit event.

Issue 17 #4: `PUT /api/auth/password` and `DELETE /api/auth/mfa` took any number of wrong guesses,
so a borrowed session could be turned into the password and then the second factor. Issue 17 #3:
the login throttle was read before bcrypt and counted after it, so parallel guesses slipped past
it. Both are now one verifier (lib/auth/verifier) over one reservation (lib/auth/throttle).
"""

from __future__ import annotations

import ast
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest
import time_machine

from scripts.devserver import build_local_app
from tests.conftest import Account, Database, sign_in
from tests.servers import serve

ROOT = Path(__file__).resolve().parents[3]
NEW_PASSWORD = "Aji-de-Gallina-con-Papas-4"


def reauthentication_failures(database: Database, account: Account) -> list[dict[str, Any]]:
    with database.connect("superuser") as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT after FROM audit_events WHERE org_id = %s AND target_id = %s "
                "AND action = 'auth.reauthentication_failed' ORDER BY occurred_at, seq",
                (account.org_id, str(account.id)),
            )
        ]


def change(client: Any, current: str, new: str = NEW_PASSWORD) -> Any:
    return client.put("/api/auth/password", json={"current_password": current, "new_password": new})


@pytest.fixture
def signed_in(database: Database, browser: Any) -> tuple[Account, Any]:
    account = database.create_user(database.create_org(), "SUPERVISOR")
    client = browser()
    sign_in(client, account)
    return account, client


def test_a_borrowed_session_cannot_guess_the_password(database: Database, signed_in: tuple[Account, Any]) -> None:
    account, client = signed_in
    for _ in range(5):
        wrong = change(client, "not-the-password")
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "current_password_incorrect"
    locked = change(client, "not-the-password")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    # Locked means locked: the right password is refused too, and nothing changes.
    assert change(client, account.password).status_code == 429
    failures = reauthentication_failures(database, account)
    assert failures == [{"purpose": "password_change", "factor": "password"}] * 5  # one per check, none per refusal
    # The same allowance as login: the account is locked at the login page as well.
    assert (
        client.post("/api/auth/login", json={"email": account.email, "password": account.password}).status_code == 429
    )
    later = datetime.now(UTC) + timedelta(seconds=int(locked.headers["retry-after"]) + 1)
    with time_machine.travel(later):
        assert change(client, account.password).status_code == 204
    assert len(reauthentication_failures(database, account)) == 5


def test_the_right_password_changes_it_and_gives_the_attempt_back(
    database: Database, signed_in: tuple[Account, Any]
) -> None:
    account, client = signed_in
    for _ in range(4):
        assert change(client, "not-the-password").status_code == 403
    assert change(client, account.password).status_code == 204
    assert reauthentication_failures(database, account) == [{"purpose": "password_change", "factor": "password"}] * 4
    # The success cleared the account's count: five more guesses are checked before the lock.
    statuses = [change(client, "not-the-password").status_code for _ in range(6)]
    assert statuses == [403] * 5 + [429]


@pytest.fixture
def enrolled(database: Database, browser: Any) -> tuple[Account, Any, str, list[str]]:
    account = database.create_user(database.create_org(), "SELLER")
    client = browser()
    sign_in(client, account)
    secret = client.post("/api/auth/mfa").json()["secret"]
    confirmed = client.put("/api/auth/mfa", json={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200
    return account, client, secret, confirmed.json()["recovery_codes"]


def wrong_code(secret: str) -> str:
    current = pyotp.TOTP(secret)
    return next(code for code in ("000000", "111111", "222222") if not current.verify(code, valid_window=2))


def test_turning_mfa_off_cannot_be_guessed_either(
    database: Database, enrolled: tuple[Account, Any, str, list[str]]
) -> None:
    account, client, secret, recovery_codes = enrolled
    guesses = [{"password": account.password, "totp_code": wrong_code(secret)}] * 3 + [
        {"password": "not-the-password", "totp_code": wrong_code(secret)}
    ] * 2
    for body in guesses:
        refused = client.request("DELETE", "/api/auth/mfa", json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "reauthentication_failed"
    right = {"password": account.password, "recovery_code": recovery_codes[0]}
    locked = client.request("DELETE", "/api/auth/mfa", json=right)
    assert locked.status_code == 429
    assert (
        reauthentication_failures(database, account)
        == [{"purpose": "mfa_disable", "factor": "second_factor"}] * 3
        + [{"purpose": "mfa_disable", "factor": "password"}] * 2
    )
    assert client.get("/api/auth/session").json()["user"]["mfa_enabled"] is True
    later = datetime.now(UTC) + timedelta(seconds=int(locked.headers["retry-after"]) + 1)
    with time_machine.travel(later):
        assert client.request("DELETE", "/api/auth/mfa", json=right).status_code == 204


def test_confirming_enrolment_counts_wrong_codes(database: Database, signed_in: tuple[Account, Any]) -> None:
    account, client = signed_in
    secret = client.post("/api/auth/mfa").json()["secret"]
    for _ in range(5):
        assert client.put("/api/auth/mfa", json={"code": wrong_code(secret)}).status_code == 403
    assert client.put("/api/auth/mfa", json={"code": pyotp.TOTP(secret).now()}).status_code == 429
    assert reauthentication_failures(database, account) == [{"purpose": "mfa_enrolment", "factor": "totp"}] * 5
    assert client.get("/api/auth/session").json()["user"]["mfa_enabled"] is False


# --- one verifier, by construction ------------------------------------------------------------------

# The calls that check a secret: only lib/auth/verifier may make them.
_CHECKS = {"verify", "matching_step", "use_recovery_code", "advance_mfa_step"}
_ALLOWED = {
    "lib/auth/verifier.py",  # the one verifier
    "lib/auth/credentials.py",  # defines use_recovery_code and advance_mfa_step
    "lib/auth/totp.py",  # defines matching_step
    "lib/auth/passwords.py",  # defines verify
}


def test_no_module_but_the_verifier_checks_a_password_or_a_code() -> None:
    offenders = []
    for folder in ("lib", "api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in _ALLOWED:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CHECKS:
                    offenders.append(f"{relative}:{node.lineno} .{node.func.attr}()")
    assert offenders == []


def test_the_structural_check_sees_a_password_checked_elsewhere(tmp_path: Path) -> None:
    # The check above must be able to fail: the code it forbids, written out, is found.
    forbidden = "def change(hasher, given, stored):\n    return hasher.verify(given, stored)\n"
    found = [
        node.func.attr
        for node in ast.walk(ast.parse(forbidden))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CHECKS
    ]
    assert found == ["verify"]


# --- concurrent attempts reserve before they check ----------------------------------------------------


@pytest.fixture(scope="module")
def live_server(database: Database) -> Any:
    with serve(build_local_app(ROOT)) as url:
        yield url


def _parallel_logins(url: str, bodies: list[dict[str, str]]) -> list[int]:
    def one(body: dict[str, str]) -> int:
        with httpx2.Client(base_url=url, timeout=60) as client:
            return client.post("/api/auth/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def _clear_address_counts(database: Database) -> None:
    with database.connect("superuser") as conn:  # every client here is 127.0.0.1: start from nothing
        conn.execute("DELETE FROM auth_throttle")


def test_forty_parallel_wrong_passwords_get_five_checked(database: Database, live_server: str) -> None:
    _clear_address_counts(database)
    account = database.create_user(database.create_org(), "SELLER")
    statuses = _parallel_logins(live_server, [{"email": account.email, "password": f"guess-{n}"} for n in range(40)])
    # A 401 is a password checked and found wrong; a 429 was refused before any check.
    assert sorted(statuses) == [401] * 5 + [429] * 35
    with database.connect("superuser") as conn:
        [[audited]] = conn.execute(
            "SELECT count(*) FROM audit_events WHERE org_id = %s AND action = 'auth.login_failed'", (account.org_id,)
        ).fetchall()
    assert audited == 5


def test_forty_parallel_logins_from_one_address_get_twenty_checked(database: Database, live_server: str) -> None:
    _clear_address_counts(database)
    bodies = [{"email": f"spray-{uuid.uuid4().hex[:8]}@example.pe", "password": "Password1!"} for _ in range(40)]
    statuses = _parallel_logins(live_server, bodies)
    assert sorted(statuses) == [401] * 20 + [429] * 20
    _clear_address_counts(database)
