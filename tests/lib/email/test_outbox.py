"""The email outbox: queued with the change, sent once by the cron, retried, never lost.

The real resend SDK talks HTTP to the local fake of Resend's API (tests/fakes/resend_api.py).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lib.config import settings
from lib.db import tenant_transaction
from lib.email.outbox import drain_outbox, enqueue_email
from lib.jobs import DrainReport, RunClock
from lib.tenancy import Actor, RequestMeta, TenantContext
from tests.conftest import Database

if TYPE_CHECKING:
    from tests.fakes.resend_api import FakeResend

pytest_plugins = ["tests.fakes.resend_api"]


def run(moment: datetime) -> DrainReport:
    """One outbox cron run that starts at `moment` and has the cron's 50 s."""
    return drain_outbox(RunClock.start(moment, 50.0))


PARAMS = {"link": "https://app.zentro.one/reset-password#token=" + "T" * 43, "expires_minutes": "60"}


def queue(database: Database, *, rollback: bool = False) -> tuple[uuid.UUID, str]:
    org = database.create_org()
    to = f"cliente-{uuid.uuid4().hex[:8]}@example.pe"
    ctx = TenantContext(org_id=org, actor=Actor.system(), request=RequestMeta("t", None, None))
    try:
        with tenant_transaction(ctx) as tx:
            enqueue_email(tx, to=to, template="password_reset", language="es", params=PARAMS, now=datetime.now(UTC))
            if rollback:
                raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    return org, to


def job(database: Database, to_org: uuid.UUID) -> tuple[Any, ...]:
    with database.connect("superuser") as conn:
        return conn.execute(
            "SELECT id, status, attempts, payload IS NULL, result, last_error, run_after FROM jobs WHERE org_id = %s",
            (to_org,),
        ).fetchone()


def test_an_email_exists_only_if_its_transaction_commits(database: Database, resend: FakeResend) -> None:
    rolled_back, _ = queue(database, rollback=True)
    committed, _ = queue(database)
    assert job(database, rolled_back) is None
    assert job(database, committed)[1] == "pending"


def test_the_cron_sends_it_once_with_the_job_id_as_idempotency_key(database: Database, resend: FakeResend) -> None:
    org, to = queue(database)
    job_id = job(database, org)[0]
    report = run(datetime.now(UTC))
    assert (report.done, report.retried, report.dead) == (1, 0, 0)
    [delivery] = resend.deliveries
    assert delivery.idempotency_key == str(job_id)
    assert delivery.payload["to"] == [to] or delivery.payload["to"] == to
    assert "T" * 43 in delivery.payload["text"]
    _, status, attempts, wiped, result, _, _ = job(database, org)
    assert (status, attempts, wiped, result) == ("done", 1, True, delivery.id)
    # Running the cron again sends nothing more.
    assert run(datetime.now(UTC) + timedelta(hours=2)).done == 0
    assert len(resend.deliveries) == 1


def test_a_send_whose_answer_was_lost_is_retried_and_delivered_once(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(1, status=500, after_delivery=True)  # Resend took it, but we never heard back
    first = run(datetime.now(UTC))
    assert (first.done, first.retried) == (0, 1)
    assert len(resend.deliveries) == 1
    _, status, attempts, wiped, _, error, run_after = job(database, org)
    assert (status, attempts, wiped) == ("pending", 1, False)
    assert "500" in error
    assert run(datetime.now(UTC)).done == 0  # not due yet: backoff
    second = run(run_after + timedelta(seconds=1))
    assert second.done == 1
    assert len(resend.deliveries) == 1  # the retry reused the key: one email in the inbox
    assert job(database, org)[1] == "done"


def test_a_provider_outage_delays_mail_and_loses_none(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(3, status=500)
    moment = datetime.now(UTC)
    for _ in range(3):
        assert run(moment).retried == 1
        moment = job(database, org)[6] + timedelta(seconds=1)
    assert run(moment).done == 1
    assert len(resend.deliveries) == 1
    assert job(database, org)[2] == 4  # four attempts, one email


def test_rate_limits_are_respected(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(1, status=429, retry_after="600")
    start = datetime.now(UTC)
    assert run(start).retried == 1
    run_after = job(database, org)[6]
    assert run_after >= start + timedelta(seconds=600)
    assert run(start + timedelta(seconds=300)).done == 0
    assert run(run_after + timedelta(seconds=1)).done == 1


def test_a_rejected_message_is_kept_dead_for_review(database: Database, resend: FakeResend) -> None:
    org, to = queue(database)
    resend.fail_next(1, status=422, name="validation_error")
    report = run(datetime.now(UTC))
    assert report.dead == 1
    _, status, _, wiped, _, error, _ = job(database, org)
    assert (status, wiped) == ("dead", False)  # kept, sealed, for a person to retry or discard
    assert "validation_error" in error
    assert [email["status"] for email in database.emails_to(to)] == ["dead"]


def test_a_wrong_api_key_halts_the_run_and_keeps_every_email(database: Database, resend: FakeResend) -> None:
    first_org, _ = queue(database)
    second_org, _ = queue(database)
    resend.api_key = "re_rotated_key_0123456789"  # ours no longer matches
    report = run(datetime.now(UTC))
    assert report.halted is not None and report.done == report.dead == 0
    due = []
    for org in (first_org, second_org):
        _, status, attempts, wiped, _, _, run_after = job(database, org)
        assert (status, attempts, wiped) == ("pending", 0, False)
        due.append(run_after)
    assert len(resend.requests) == 1  # the run stopped at the first refusal
    resend.api_key = os.environ["RESEND_API_KEY"]
    assert run(max(due) + timedelta(seconds=1)).done == 2


def test_a_job_whose_worker_died_is_picked_up_again(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    with database.connect("superuser") as conn:  # a worker claimed it and vanished
        conn.execute(
            "UPDATE jobs SET status = 'running', attempts = 1, locked_until = now() - interval '1 second' "
            "WHERE org_id = %s",
            (org,),
        )
    assert run(datetime.now(UTC)).done == 1
    assert len(resend.deliveries) == 1


def test_a_job_whose_worker_died_after_its_budget_is_dead_not_claimed_again(
    database: Database, resend: FakeResend
) -> None:
    org, to = queue(database)
    with database.connect("superuser") as conn:  # claimed long ago by a worker that never came back
        conn.execute(
            "UPDATE jobs SET status = 'running', attempts = 40, locked_until = now() - interval '1 minute', "
            "retry_until = now() - interval '1 second' WHERE org_id = %s",
            (org,),
        )
    assert run(datetime.now(UTC)).done == 0
    assert resend.requests == []  # not tried again
    _, status, attempts, wiped, _, error, _ = job(database, org)
    assert (status, attempts, wiped) == ("dead", 40, False) and "worker stopped" in error
    assert [email["status"] for email in database.emails_to(to)] == ["dead"]


def test_an_outage_longer_than_the_budget_leaves_the_email_dead_and_whole(
    database: Database, resend: FakeResend
) -> None:
    from lib.jobs import DEFAULT_BUDGET

    org, to = queue(database)
    queued_at = datetime.now(UTC)
    resend.fail_next(1000, status=503)
    moment = queued_at
    runs = 0
    while job(database, org)[1] == "pending":
        run(moment)
        runs += 1
        moment = job(database, org)[6] + timedelta(seconds=1)
    _, status, attempts, wiped, _, error, _ = job(database, org)
    assert (status, wiped) == ("dead", False) and "503" in error
    # Backoff capped at an hour: about 80 attempts over 72 hours, not 8 in one hour.
    assert attempts == runs and attempts > 70
    with database.connect("superuser") as conn:
        [[first, last, dead_at]] = conn.execute(
            "SELECT first_error, last_attempt_at, finished_at FROM jobs WHERE org_id = %s", (org,)
        ).fetchall()
    assert "503" in first and last >= queued_at + DEFAULT_BUDGET - timedelta(hours=1)
    assert dead_at >= queued_at + DEFAULT_BUDGET - timedelta(hours=1)
    assert resend.deliveries == []
    [kept] = database.emails_to(to)  # the sealed message is all there, for an ADMIN to retry
    assert kept["status"] == "dead" and kept["token"] == "T" * 43


def test_without_resend_mail_is_written_where_a_developer_can_read_it(database: Database) -> None:
    assert settings().resend_api_key is None
    with database.connect("superuser") as conn:
        conn.execute("UPDATE jobs SET status = 'done', payload = NULL WHERE status IN ('pending', 'running')")
    org, to = queue(database)
    assert run(datetime.now(UTC)).done == 1
    files = [path for path in os.scandir(os.environ["MAIL_DIR"]) if str(job(database, org)[0]) in path.name]
    assert len(files) == 1
    with open(files[0].path, encoding="utf-8") as message:
        assert to in message.read()


# One outbox cron run in a process of its own, as Vercel runs it: `now` comes from the command
# line so that the test can move the clock past each run's leases.
_CRON_RUN = """
import sys
from datetime import datetime
from lib.email.outbox import drain_outbox
from lib.jobs import RunClock
drain_outbox(RunClock.start(datetime.fromisoformat(sys.argv[1]), 50.0))
"""


def _run_cut_short(moment: datetime, resend: FakeResend) -> None:
    """Start a cron run and stop it (SIGKILL, as the platform stops a function at its time limit)
    once the provider has been called and is hanging."""
    import subprocess
    import sys
    import time

    seen = len(resend.requests)
    process = subprocess.Popen([sys.executable, "-c", _CRON_RUN, moment.isoformat()], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while len(resend.requests) == seen:
            assert process.poll() is None, "the run ended without calling the provider"
            assert time.monotonic() < deadline, "the run never called the provider"
            time.sleep(0.02)
        time.sleep(0.3)  # it is waiting on the hanging provider: now the time limit strikes
    finally:
        process.kill()
        process.wait()


def test_runs_cut_short_while_the_provider_hangs_lose_nothing_and_spend_no_untried_attempt(
    database: Database, resend: FakeResend
) -> None:
    from collections import Counter

    from lib.email.outbox import EMAIL

    queued = [queue(database) for _ in range(6)]
    resend.hang = 120.0  # far past the cron's time limit
    moment = datetime.now(UTC)
    for _ in range(9):
        _run_cut_short(moment, resend)
        moment += timedelta(seconds=EMAIL.lease_seconds + 1)  # the next run may take over a stale lease

    # Every attempt counted is an attempt the provider saw: one per run, never one per job claimed.
    tried = Counter(request["headers"]["idempotency-key"] for request in resend.requests)
    assert sum(tried.values()) == 9
    with database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT id::text, status, attempts, payload IS NOT NULL FROM jobs WHERE org_id = ANY(%s)",
            ([org for org, _ in queued],),
        ).fetchall()
    assert {job_id: attempts for job_id, _, attempts, _ in rows if attempts} == dict(tried)
    assert all(status in ("pending", "running") and kept for _, status, _, kept in rows)
    assert resend.deliveries == []

    resend.hang = 0.0  # the provider is back: every email goes out, once
    report = run(moment + timedelta(hours=1))
    assert report.done == 6
    assert sorted(delivery.payload["to"][0] for delivery in resend.deliveries) == sorted(to for _, to in queued)
