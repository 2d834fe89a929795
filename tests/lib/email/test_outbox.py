"""The email outbox: queued with the change, sent once by the cron, retried, never lost.

The real resend SDK talks HTTP to the local fake of Resend's API (tests/fakes/resend_api.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from lib.config import settings
from lib.db import tenant_transaction
from lib.email.outbox import drain_outbox, enqueue_email
from lib.tenancy import Actor, RequestMeta, TenantContext
from tests.conftest import Database

if TYPE_CHECKING:
    from tests.fakes.resend_api import FakeResend

pytest_plugins = ["tests.fakes.resend_api"]

PARAMS = {"link": "https://app.zentro.one/reset-password#token=" + "T" * 43, "expires_minutes": "60"}


@pytest.fixture
def resend(database: Database, fake_resend: FakeResend) -> Iterator[FakeResend]:
    """Point the app's email transport at the fake, with nothing else queued."""
    saved = {name: os.environ.get(name) for name in ("RESEND_API_KEY", "RESEND_API_URL")}
    os.environ["RESEND_API_KEY"] = fake_resend.api_key
    os.environ["RESEND_API_URL"] = fake_resend.url
    settings.cache_clear()
    with database.connect("superuser") as conn:
        conn.execute("UPDATE jobs SET status = 'done', payload = NULL WHERE status IN ('pending', 'running')")
    yield fake_resend
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings.cache_clear()


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
    report = drain_outbox(datetime.now(UTC))
    assert (report.done, report.retried, report.dead) == (1, 0, 0)
    [delivery] = resend.deliveries
    assert delivery.idempotency_key == str(job_id)
    assert delivery.payload["to"] == [to] or delivery.payload["to"] == to
    assert "T" * 43 in delivery.payload["text"]
    _, status, attempts, wiped, result, _, _ = job(database, org)
    assert (status, attempts, wiped, result) == ("done", 1, True, delivery.id)
    # Running the cron again sends nothing more.
    assert drain_outbox(datetime.now(UTC) + timedelta(hours=2)).done == 0
    assert len(resend.deliveries) == 1


def test_a_send_whose_answer_was_lost_is_retried_and_delivered_once(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(1, status=500, after_delivery=True)  # Resend took it, but we never heard back
    first = drain_outbox(datetime.now(UTC))
    assert (first.done, first.retried) == (0, 1)
    assert len(resend.deliveries) == 1
    _, status, attempts, wiped, _, error, run_after = job(database, org)
    assert (status, attempts, wiped) == ("pending", 1, False)
    assert "500" in error
    assert drain_outbox(datetime.now(UTC)).done == 0  # not due yet: backoff
    second = drain_outbox(run_after + timedelta(seconds=1))
    assert second.done == 1
    assert len(resend.deliveries) == 1  # the retry reused the key: one email in the inbox
    assert job(database, org)[1] == "done"


def test_a_provider_outage_delays_mail_and_loses_none(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(3, status=500)
    moment = datetime.now(UTC)
    for _ in range(3):
        assert drain_outbox(moment).retried == 1
        moment = job(database, org)[6] + timedelta(seconds=1)
    assert drain_outbox(moment).done == 1
    assert len(resend.deliveries) == 1
    assert job(database, org)[2] == 4  # four attempts, one email


def test_rate_limits_are_respected(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(1, status=429, retry_after="600")
    start = datetime.now(UTC)
    assert drain_outbox(start).retried == 1
    run_after = job(database, org)[6]
    assert run_after >= start + timedelta(seconds=600)
    assert drain_outbox(start + timedelta(seconds=300)).done == 0
    assert drain_outbox(run_after + timedelta(seconds=1)).done == 1


def test_a_rejected_message_is_kept_dead_for_review(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(1, status=422, name="validation_error")
    report = drain_outbox(datetime.now(UTC))
    assert report.dead == 1
    _, status, _, wiped, _, error, _ = job(database, org)
    assert (status, wiped) == ("dead", True)
    assert "validation_error" in error


def test_a_wrong_api_key_halts_the_run_and_keeps_every_email(database: Database, resend: FakeResend) -> None:
    first_org, _ = queue(database)
    second_org, _ = queue(database)
    resend.api_key = "re_rotated_key_0123456789"  # ours no longer matches
    report = drain_outbox(datetime.now(UTC))
    assert report.halted is not None and report.done == report.dead == 0
    for org in (first_org, second_org):
        _, status, attempts, wiped, _, _, run_after = job(database, org)
        assert (status, attempts, wiped) == ("pending", 0, False)
    resend.api_key = os.environ["RESEND_API_KEY"]
    assert drain_outbox(run_after + timedelta(seconds=1)).done == 2


def test_a_job_whose_worker_died_is_picked_up_again(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    with database.connect("superuser") as conn:  # a worker claimed it and vanished
        conn.execute(
            "UPDATE jobs SET status = 'running', attempts = 1, locked_until = now() - interval '1 second' "
            "WHERE org_id = %s",
            (org,),
        )
    assert drain_outbox(datetime.now(UTC)).done == 1
    assert len(resend.deliveries) == 1


def test_after_the_last_attempt_the_job_is_dead_not_deleted(database: Database, resend: FakeResend) -> None:
    org, _ = queue(database)
    resend.fail_next(20, status=503)
    moment = datetime.now(UTC)
    for _ in range(8):
        drain_outbox(moment)
        moment = job(database, org)[6] + timedelta(seconds=1)
    _, status, attempts, wiped, _, _, _ = job(database, org)
    assert (status, attempts, wiped) == ("dead", 8, True)
    assert resend.deliveries == []


def test_without_resend_mail_is_written_where_a_developer_can_read_it(database: Database) -> None:
    assert settings().resend_api_key is None
    with database.connect("superuser") as conn:
        conn.execute("UPDATE jobs SET status = 'done', payload = NULL WHERE status IN ('pending', 'running')")
    org, to = queue(database)
    assert drain_outbox(datetime.now(UTC)).done == 1
    files = [path for path in os.scandir(os.environ["MAIL_DIR"]) if str(job(database, org)[0]) in path.name]
    assert len(files) == 1
    with open(files[0].path, encoding="utf-8") as message:
        assert to in message.read()
