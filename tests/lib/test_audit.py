"""The audit trail records who/what/when/where, cannot be rewritten by the app, and expires."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lib import audit
from lib.audit import Target
from lib.db import tenant_transaction, unscoped_transaction
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from tests.conftest import Database

USER = uuid.UUID("11111111-2222-4333-8444-555555555555")


def ctx(org_id: uuid.UUID) -> TenantContext:
    return TenantContext(
        org_id=org_id,
        actor=Actor(user_id=USER, role=Role.SUPERVISOR),
        request=RequestMeta(request_id="req-audit-1", client_ip="198.51.100.23", user_agent="Mozilla/5.0 test"),
    )


def test_an_event_records_who_what_when_where(database: Database) -> None:
    org = database.create_org()
    before_call = datetime.now(UTC)
    with tenant_transaction(ctx(org)) as tx:
        event_id = audit.record(
            tx,
            "order.status_changed",
            Target("order", "ord-1"),
            before={"status": "pending"},
            after={"status": "confirmed"},
        )
    with database.connect("superuser") as conn:
        row = conn.execute(
            """SELECT org_id, actor_user_id, actor_role, action, target_type, target_id, request_id,
                      host(client_ip), user_agent, before, after, occurred_at
               FROM audit_events WHERE id = %s""",
            (event_id,),
        ).fetchone()
    assert row is not None
    assert row[:11] == (
        org,
        USER,
        "SUPERVISOR",
        "order.status_changed",
        "order",
        "ord-1",
        "req-audit-1",
        "198.51.100.23",
        "Mozilla/5.0 test",
        {"status": "pending"},
        {"status": "confirmed"},
    )
    occurred_at = row[11]
    assert occurred_at.tzinfo is not None  # timestamptz: an instant, comparable with UTC now
    assert before_call - timedelta(seconds=5) <= occurred_at <= datetime.now(UTC) + timedelta(seconds=5)


def test_the_event_is_part_of_the_transaction(database: Database) -> None:
    org = database.create_org()
    with pytest.raises(RuntimeError), tenant_transaction(ctx(org)) as tx:
        audit.record(tx, "order.cancelled", Target("order", "ord-rolled-back"))
        raise RuntimeError("the change failed after the audit call")
    with tenant_transaction(ctx(org)) as tx:
        audit.record(tx, "order.cancelled", Target("order", "ord-committed"))
    with database.connect("superuser") as conn:
        targets = {r[0] for r in conn.execute("SELECT target_id FROM audit_events WHERE org_id = %s", (org,))}
    assert targets == {"ord-committed"}


def test_credentials_never_enter_an_audit_row(database: Database) -> None:
    org = database.create_org()
    with tenant_transaction(ctx(org)) as tx:
        event_id = audit.record(
            tx,
            "integration.updated",
            Target("integration", "zeus"),
            after={"username": "merchant", "password": "s3cret!", "nested": {"api_key": "k-123", "note": "ok"}},
        )
    with database.connect("superuser") as conn:
        after = conn.execute("SELECT after FROM audit_events WHERE id = %s", (event_id,)).fetchone()[0]
    assert after == {
        "username": "merchant",
        "password": "[Filtered]",
        "nested": {"api_key": "[Filtered]", "note": "ok"},
    }


def test_injected_newlines_are_stored_as_data(database: Database) -> None:
    org = database.create_org()
    forged = "x\n2026-11-24 admin login ok"
    with tenant_transaction(ctx(org)) as tx:
        event_id = audit.record(tx, "customer.updated", Target("customer", "c-1"), after={"name": forged})
    with database.connect("superuser") as conn:
        raw = conn.execute("SELECT after::text FROM audit_events WHERE id = %s", (event_id,)).fetchone()[0]
    assert "\n" not in raw and "\\n" in raw


@pytest.mark.parametrize("bad", ["Order.Changed", "order", "order.status changed", "order.;drop"])
def test_actions_are_dotted_snake_case(database: Database, bad: str) -> None:
    org = database.create_org()
    with pytest.raises(ValueError, match="dotted snake_case"), tenant_transaction(ctx(org)) as tx:
        audit.record(tx, bad, Target("order", "o"))


def test_the_app_role_cannot_rewrite_or_erase_events(database: Database) -> None:
    org = database.create_org()
    with tenant_transaction(ctx(org)) as tx:
        event_id = audit.record(tx, "payment.verified", Target("payment", "p-1"))
    for statement in (
        "UPDATE audit_events SET action = 'payment.rejected' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), tenant_transaction(ctx(org)) as tx:
            tx.conn.execute(text(statement), {"id": event_id})
    with tenant_transaction(ctx(org)) as tx:  # still there, unchanged, and readable by the app
        assert (
            tx.conn.execute(text("SELECT action FROM audit_events WHERE id = :id"), {"id": event_id}).scalar_one()
            == "payment.verified"
        )


def test_the_app_cannot_backdate_an_event(database: Database) -> None:
    org = database.create_org()
    with tenant_transaction(ctx(org)) as tx:
        tx.conn.execute(
            text(
                "INSERT INTO audit_events (org_id, action, target_type, occurred_at) "
                "VALUES (:org, 'order.created', 'order', '2020-01-01T00:00:00Z')"
            ),
            {"org": org},
        )
        occurred = tx.conn.execute(
            text("SELECT occurred_at FROM audit_events WHERE org_id = :org"), {"org": org}
        ).scalar_one()
    assert occurred > datetime.now(UTC) - timedelta(minutes=1)


def seed_event(database: Database, org: uuid.UUID, age_days: int, marker: str) -> None:
    """Insert an event as if written `age_days` ago (superuser, stamping trigger skipped)."""
    with database.connect("superuser") as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO audit_events (org_id, action, target_type, target_id, occurred_at) "
            "VALUES (%s, 'order.created', 'order', %s, now() - make_interval(days => %s))",
            (org, marker, age_days),
        )


def test_purge_removes_only_events_past_the_retention_and_records_the_run(database: Database) -> None:
    org_a, org_b = database.create_org(), database.create_org()
    for org in (org_a, org_b):
        seed_event(database, org, 120, "old")
        seed_event(database, org, 91, "just-expired")
        seed_event(database, org, 89, "recent")
        seed_event(database, org, 0, "today")

    result = audit.purge_expired(90)

    assert result.removed >= 4
    with database.connect("superuser") as conn:
        left = {
            (r[0], r[1])
            for r in conn.execute("SELECT org_id, target_id FROM audit_events WHERE org_id IN (%s, %s)", (org_a, org_b))
        }
        run = conn.execute(
            "SELECT job, rows_affected, details->>'retention_days' FROM maintenance_runs WHERE id = %s",
            (result.run_id,),
        ).fetchone()
    assert left == {(org, marker) for org in (org_a, org_b) for marker in ("recent", "today")}
    assert run == ("audit_purge", result.removed, "90")


def test_a_longer_retention_keeps_more(database: Database) -> None:
    org = database.create_org()
    seed_event(database, org, 120, "old")
    audit.purge_expired(180)
    with database.connect("superuser") as conn:
        assert conn.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org,)).fetchone()[0] == 1


@pytest.mark.parametrize("days", [0, 30, 89])
def test_purge_refuses_a_retention_under_90_days(database: Database, days: int) -> None:
    org = database.create_org()
    seed_event(database, org, 60, "sixty-days")
    with pytest.raises(DBAPIError, match="at least 90 days"):
        audit.purge_expired(days)
    with database.connect("superuser") as conn:
        assert conn.execute("SELECT count(*) FROM audit_events WHERE org_id = %s", (org,)).fetchone()[0] == 1


def test_even_the_owner_cannot_delete_events_younger_than_90_days(database: Database) -> None:
    org = database.create_org()
    seed_event(database, org, 30, "thirty-days")
    with database.connect("owner") as conn:
        assert conn.execute("DELETE FROM audit_events WHERE org_id = %s", (org,)).rowcount == 0


def test_the_run_log_cannot_be_forged_or_erased_by_the_app(database: Database) -> None:
    result = audit.purge_expired(90)
    for statement in (
        "INSERT INTO maintenance_runs (job, rows_affected) VALUES ('audit_purge', 0)",
        "UPDATE maintenance_runs SET rows_affected = 0",
        "DELETE FROM maintenance_runs",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), unscoped_transaction() as conn:
            conn.execute(text(statement))
    with unscoped_transaction() as conn:  # readable, though
        assert (
            conn.execute(
                text("SELECT count(*) FROM maintenance_runs WHERE id = :id"), {"id": result.run_id}
            ).scalar_one()
            == 1
        )
