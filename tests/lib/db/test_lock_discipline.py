"""Row locks that foreign-key checks never wait on, and a retry for the deadlocks left.

Issue 17 #2: order capture locked the organization row FOR UPDATE and sign-in locked the user
row FOR UPDATE; each then waited on the other's foreign-key check (a FOR KEY SHARE lock), and
Postgres broke the deadlock by failing one of them: 500s. Locks are now FOR NO KEY UPDATE (which
FOR KEY SHARE does not wait on), and a unit of work Postgres rolls back to break a deadlock runs
again while it has committed nothing (lib/db/failures).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest

from lib.db import tenant_transaction
from lib.db.failures import failure_kind, retrying_conflicts
from lib.tenancy import Actor, RequestMeta, TenantContext
from scripts.devserver import build_local_app
from tests.conftest import Database
from tests.order_samples import order_payload
from tests.servers import serve

ROOT = Path(__file__).resolve().parents[3]
# A row lock that a foreign-key check (FOR KEY SHARE) would wait on.
_KEY_LOCK = re.compile(r"\bFOR\s+(?:UPDATE|SHARE)\b", re.IGNORECASE)
# Where such a lock is right: rows nothing references, each with its reason.
_ALLOWED = {
    # Claiming due jobs: no table references jobs, and SKIP LOCKED never waits.
    ("db/versions/0002_identity.py", "FOR UPDATE"),
}


def test_no_statement_takes_a_row_lock_that_foreign_key_checks_wait_on() -> None:
    found = []
    for path in sorted([*ROOT.glob("lib/**/*.py"), *ROOT.glob("db/versions/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in _KEY_LOCK.finditer(line):
                if "NO KEY" in line[max(0, match.start() - 8) : match.start()].upper():
                    continue
                if (relative, match.group(0).upper()) not in _ALLOWED:
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []


def test_the_lock_check_can_fail() -> None:
    assert _KEY_LOCK.search("SELECT next_order_number FROM organizations WHERE id = :org FOR UPDATE")
    assert _KEY_LOCK.search("SELECT 1 FROM x for share")
    assert "NO KEY" in "FOR NO KEY UPDATE"  # the exemption is for exactly this form


# --- a seller signs in on a second device while saving orders --------------------------------------


@pytest.fixture(scope="module")
def live_server(database: Database) -> Any:
    with serve(build_local_app(ROOT)) as url:
        yield url


def test_signing_in_while_capturing_orders_never_fails(database: Database, live_server: str) -> None:
    with database.connect("superuser") as conn:
        conn.execute("DELETE FROM auth_throttle")  # every client here is 127.0.0.1
    org = database.create_org()
    seller = database.create_user(org, "SELLER")
    credentials = {"email": seller.email, "password": seller.password}
    orders_before = _count(database, org)
    # The seller's four order-taking devices are signed in already; four more sign in over and over.
    devices = [httpx2.Client(base_url=live_server, timeout=60) for _ in range(4)]
    for device in devices:
        assert device.post("/api/auth/login", json=credentials).status_code == 200
    stop = time.monotonic() + 6.0

    def capture_loop(index: int) -> list[int]:
        statuses = []
        client = devices[index]
        while time.monotonic() < stop:
            payload = order_payload(
                items=[{"sku": f"W{index}", "name": "Polo", "quantity": 1, "unit_price_cents": 100}]
            )
            statuses.append(client.post("/api/orders", json=payload).status_code)
        client.close()
        return statuses

    def sign_in_loop(_: int) -> list[int]:
        statuses = []
        while time.monotonic() < stop:
            with httpx2.Client(base_url=live_server, timeout=60) as client:
                statuses.append(client.post("/api/auth/login", json=credentials).status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        captures = [pool.submit(capture_loop, index) for index in range(4)]
        sign_ins = [pool.submit(sign_in_loop, index) for index in range(4)]
        capture_statuses = [status for future in captures for status in future.result()]
        sign_in_statuses = [status for future in sign_ins for status in future.result()]
    assert len(capture_statuses) > 10 and len(sign_in_statuses) > 10  # both really ran side by side
    assert set(capture_statuses) == {201}
    assert set(sign_in_statuses) == {200}
    assert _count(database, org) - orders_before == len(capture_statuses)  # every 201 is an order, once


def _count(database: Database, org: uuid.UUID) -> int:
    with database.connect("superuser") as conn:
        [[count]] = conn.execute("SELECT count(*) FROM orders WHERE org_id = %s", (org,)).fetchall()
    return int(count)


# --- the retry under the discipline -----------------------------------------------------------------


def _context(org: uuid.UUID) -> TenantContext:
    return TenantContext(org_id=org, actor=Actor.system(), request=RequestMeta("t", None, None))


def _crossed_locks(org: uuid.UUID, commit_first: bool) -> tuple[list[BaseException | None], list[int]]:
    """Two units of work that lock two keys in opposite orders at the same moment: a real deadlock.
    Returns what each raised (or None) and how many times each ran."""
    meeting = threading.Barrier(2)
    runs = [0, 0]
    outcomes: list[BaseException | None] = [None, None]

    def unit(index: int) -> None:
        first, second = ("a", "b") if index == 0 else ("b", "a")
        runs[index] += 1
        if commit_first:
            with tenant_transaction(_context(org)) as tx:
                tx.conn.exec_driver_sql("SELECT 1")  # a committed transaction: this unit can no longer be redone
        with tenant_transaction(_context(org)) as tx:
            tx.lock_key(first)
            if runs[index] == 1:
                meeting.wait(timeout=10)  # both hold their first lock before asking for the second
            tx.lock_key(second)

    def run(index: int) -> None:
        try:
            retrying_conflicts(lambda: unit(index))
        except Exception as error:  # recorded for the assertions
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes, runs


def test_a_unit_that_lost_a_deadlock_runs_again_and_succeeds(database: Database, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="zentro.db"):
        outcomes, runs = _crossed_locks(database.create_org(), commit_first=False)
    assert outcomes == [None, None]
    assert sorted(runs) == [1, 2]  # Postgres failed exactly one, which ran again
    assert [r.getMessage() for r in caplog.records].count("db_conflict_retried") == 1


def test_a_unit_that_committed_before_its_deadlock_is_not_run_again(database: Database) -> None:
    outcomes, runs = _crossed_locks(database.create_org(), commit_first=True)
    failed = [error for error in outcomes if error is not None]
    assert len(failed) == 1 and failure_kind(failed[0]) == "conflict"
    assert runs == [1, 1]
