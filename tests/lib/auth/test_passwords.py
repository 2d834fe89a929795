"""Passwords: bcrypt over a peppered HMAC, nothing truncated, weak ones refused, upgraded on login."""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx2
import pytest

from lib.auth.login import login
from lib.auth.password_policy import PasswordRejected, check_new_password
from lib.auth.passwords import PasswordHasher
from lib.config import settings
from lib.tenancy import RequestMeta
from tests.conftest import Database, sign_in

PEPPER = "p" * 16 + "e" * 16 + "pper"


def test_a_100_character_password_is_never_truncated(database: Database, browser: Any) -> None:
    password = "Ayacucho-" + "x7" * 42 + "-fin-12"  # 100 ASCII characters: bytes 73..100 matter too
    assert len(password.encode()) == 100
    account = database.create_user(database.create_org(), password=password)
    first_72 = password.encode()[:72].decode()
    refused = browser().post("/api/auth/login", json={"email": account.email, "password": first_72})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_credentials"
    sign_in(browser(), account)  # the whole password works


def test_the_stored_hash_says_how_it_was_made_at_cost_12() -> None:
    stored = PasswordHasher(PEPPER, 12).hash("Quinoa-Ceviche-Arequipa-71")
    assert re.match(r"^bcrypt-hmac-sha256-p1\$2b\$1[2-9]\$[./A-Za-z0-9]{53}$", stored)
    assert PasswordHasher(PEPPER, 12).verify("Quinoa-Ceviche-Arequipa-71", stored)
    assert not PasswordHasher(PEPPER, 12).verify("quinoa-ceviche-arequipa-71", stored)


def test_the_pepper_is_part_of_the_hash() -> None:
    stored = PasswordHasher(PEPPER, 4).hash("Quinoa-Ceviche-Arequipa-71")
    assert not PasswordHasher("another-pepper-of-at-least-32-chars!", 4).verify("Quinoa-Ceviche-Arequipa-71", stored)


def test_rehash_is_needed_when_cost_or_scheme_changes() -> None:
    at_4 = PasswordHasher(PEPPER, 4).hash("x-Quinoa-Ceviche")
    assert not PasswordHasher(PEPPER, 4).needs_rehash(at_4)
    assert PasswordHasher(PEPPER, 5).needs_rehash(at_4)
    assert PasswordHasher(PEPPER, 4).needs_rehash(at_4.replace("bcrypt-hmac-sha256-p1", "bcrypt-hmac-sha256-p0"))


def test_login_upgrades_an_old_hash(database: Database) -> None:
    account = database.create_user(database.create_org())  # hashed at the suite's cost (4)
    stronger = replace(settings(), bcrypt_cost=5)
    meta = RequestMeta(request_id="t", client_ip="192.0.2.10", user_agent="pytest")
    login(
        email=account.email,
        password=account.password,
        totp_code=None,
        recovery_code=None,
        previous_token=None,
        meta=meta,
        settings=stronger,
        now=datetime.now(UTC),
    )
    with database.connect("superuser") as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE id = %s", (account.id,)).fetchone()[0]
    assert "$2b$05$" in stored
    assert PasswordHasher(os.environ["PASSWORD_PEPPER"], 5).verify(account.password, stored)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab3$efg", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("password123", "password_too_common"),
        ("PASSWORD123", "password_too_common"),
        ("contraseña", "password_too_common"),
        ("tequiero1", "password_too_common"),
        ("rosa.quispe2024", "password_too_personal"),
    ],
)
def test_weak_passwords_are_refused(password: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as refused:
        check_new_password(password, personal_words=("rosa.quispe", "Tienda Demo"))
    assert refused.value.code == code


@pytest.mark.parametrize(
    "password", ["Ab3$efgh", "x" * 128, "una frase larga con ñandú y café", "rosa quispe sube al Misti"]
)
def test_good_passwords_pass(password: str) -> None:
    check_new_password(password, personal_words=("rosa.quispe", "Tienda Demo"))


def test_hashing_runs_off_the_event_loop(database: Database, router: Any) -> None:
    """While a login spends ~250 ms in bcrypt (cost 12), the same server keeps answering."""
    account = database.create_user(database.create_org())
    # Re-hash at cost 12 so the verification is slow enough to observe.
    slow_hash = PasswordHasher(os.environ["PASSWORD_PEPPER"], 12).hash(account.password)
    with database.connect("owner") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(account.org_id),))
        conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (slow_hash, account.id))

    timings: dict[str, float] = {}

    async def scenario() -> None:
        transport = httpx2.ASGITransport(app=router)
        async with httpx2.AsyncClient(transport=transport, base_url="http://localhost:3000") as client:
            start = time.perf_counter()

            async def slow_login() -> None:
                await client.post("/api/auth/login", json={"email": account.email, "password": account.password})
                timings["login"] = time.perf_counter() - start

            async def health_during() -> None:
                await anyio.sleep(0.03)  # let the login reach bcrypt
                await client.get("/robots.txt")
                timings["robots"] = time.perf_counter() - start

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(slow_login)
                tasks.start_soon(health_during)

    anyio.run(scenario)
    assert timings["login"] > 0.15, timings  # bcrypt at cost 12 really ran
    assert timings["robots"] < timings["login"], timings  # ... and did not block the loop
    assert threading.current_thread() is threading.main_thread()
