"""Dead jobs wait for an ADMIN: listed with why they died, then retried or discarded.

An email provider down for longer than the retry budget (72 hours) used to lose every email;
now each is dead with its sealed content, and its organization's ADMIN decides. The real
resend SDK talks HTTP to the local fake of Resend's API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lib.email.outbox import drain_outbox
from lib.jobs import RunClock
from tests.conftest import Database, sign_in

if TYPE_CHECKING:
    from tests.fakes.resend_api import FakeResend

pytest_plugins = ["tests.fakes.resend_api"]


def outage_past_the_budget(database: Database, org: uuid.UUID) -> None:
    """Run the outbox cron, each time when the next retry is due, until the org's emails are dead."""
    moment = datetime.now(UTC)
    for _ in range(200):
        drain_outbox(RunClock.start(moment, 50.0))
        with database.connect("superuser") as conn:
            [[due]] = conn.execute(
                "SELECT min(run_after) FROM jobs WHERE org_id = %s AND status = 'pending'", (org,)
            ).fetchall()
        if due is None:
            return
        moment = due + timedelta(seconds=1)
    raise AssertionError("the emails never died")


def invite(client: Any, email: str) -> str:
    response = client.post("/api/users", json={"email": email, "role": "SELLER", "full_name": "Invitada"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_an_outage_longer_than_the_budget_leaves_every_email_for_the_admin_to_resend(
    database: Database, browser: Any, resend: FakeResend
) -> None:
    org = database.create_org("Tienda Larga")
    admin = database.create_user(org, "ADMIN")
    client = browser()
    sign_in(client, admin)
    emails = [f"perdida-{index}-{uuid.uuid4().hex[:6]}@example.pe" for index in range(3)]
    for email in emails:
        invite(client, email)

    resend.fail_next(100_000, status=503)
    outage_past_the_budget(database, org)
    listed = client.get("/api/jobs?state=dead")
    assert listed.status_code == 200, listed.text
    dead = listed.json()["jobs"]
    assert sorted(job["recipient"] for job in dead) == sorted(emails)
    for job in dead:
        assert job["kind"] == "email" and job["email_template"] == "invitation"
        assert "503" in job["first_error"] and "503" in job["last_error"] and job["attempts"] > 70
    assert all(
        message["status"] == "dead" and message["token"] for email in emails for message in database.emails_to(email)
    )

    # The provider is back: the ADMIN retries two and discards the third.
    resend.reset()
    keep, drop = dead[:2], dead[2]
    for job in keep:
        retried = client.post(f"/api/jobs/{job['id']}/retry")
        assert retried.status_code == 202 and retried.json()["state"] == "pending"
    assert client.delete(f"/api/jobs/{drop['id']}").status_code == 204
    assert client.get("/api/jobs?state=dead").json()["jobs"] == []
    report = drain_outbox(RunClock.start(datetime.now(UTC), 50.0))
    assert report.done == 2
    assert sorted(d.payload["to"][0] for d in resend.deliveries) == sorted(job["recipient"] for job in keep)
    assert database.emails_to(drop["recipient"]) == []  # discarded: its sealed content is gone
    # Deciding twice is refused: the job is no longer dead.
    assert client.post(f"/api/jobs/{drop['id']}/retry").json()["error"]["code"] == "job_not_dead"
    with database.connect("superuser") as conn:
        actions = sorted(
            row[0]
            for row in conn.execute("SELECT action FROM audit_events WHERE org_id = %s AND target_type = 'job'", (org,))
        )
    assert actions == ["job.discarded", "job.retried", "job.retried"]


def test_dead_jobs_are_seen_and_decided_only_by_their_organizations_admin(
    database: Database, browser: Any, resend: FakeResend
) -> None:
    org = database.create_org()
    admin = database.create_user(org, "ADMIN")
    supervisor = database.create_user(org, "SUPERVISOR")
    stranger = database.create_user(database.create_org(), "ADMIN")
    clients = {}
    for name, account in (("admin", admin), ("supervisor", supervisor), ("stranger", stranger)):
        clients[name] = browser()
        sign_in(clients[name], account)
    invite(clients["admin"], f"x-{uuid.uuid4().hex[:8]}@example.pe")
    resend.fail_next(1, status=422, name="validation_error")  # refused for good: dead at once
    drain_outbox(RunClock.start(datetime.now(UTC), 50.0))
    [job] = clients["admin"].get("/api/jobs?state=dead").json()["jobs"]

    assert clients["supervisor"].get("/api/jobs?state=dead").status_code == 403
    assert clients["supervisor"].post(f"/api/jobs/{job['id']}/retry").status_code == 403
    assert clients["stranger"].get("/api/jobs?state=dead").json()["jobs"] == []
    assert clients["stranger"].post(f"/api/jobs/{job['id']}/retry").status_code == 404
    assert clients["stranger"].delete(f"/api/jobs/{job['id']}").status_code == 404
    assert clients["admin"].get("/api/jobs").status_code == 422  # the state must be said
    # Still there, still dead, for its own ADMIN.
    assert [j["id"] for j in clients["admin"].get("/api/jobs?state=dead").json()["jobs"]] == [job["id"]]


def test_the_purge_keeps_dead_jobs_and_removes_settled_ones_after_30_days(database: Database) -> None:
    from lib.auth.retention import purge_expired_auth_data

    org = database.create_org()
    old = datetime.now(UTC) - timedelta(days=31)
    with database.connect("owner") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org),))
        for status in ("done", "discarded", "dead"):
            conn.execute(
                "INSERT INTO jobs (org_id, kind, payload, status, run_after, retry_until, finished_at) "
                "VALUES (%s, 'storage.delete', CASE WHEN %s = 'dead' THEN '\\x00'::bytea END, %s, %s, %s, %s)",
                (org, status, status, old, old, old),
            )
        conn.execute(
            "INSERT INTO password_reset_requests (id, email, requested_at) VALUES (%s, '\\x00', %s), (%s, '\\x00', now())",
            (uuid.uuid4(), datetime.now(UTC) - timedelta(days=2), uuid.uuid4()),
        )
    purge_expired_auth_data(datetime.now(UTC))
    with database.connect("superuser") as conn:
        left = [row[0] for row in conn.execute("SELECT status FROM jobs WHERE org_id = %s", (org,))]
        [[recent_requests]] = conn.execute("SELECT count(*) FROM password_reset_requests").fetchall()
    assert left == ["dead"]  # a person has not decided yet
    assert recent_requests == 1  # the request of a minute ago stays for the cron; the stale one went
