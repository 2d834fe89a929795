"""Row-level security makes tenant isolation hold even for SQL that forgets to filter.

Tenant data is read and written here as the application's own database role, through
lib.db, with the SQL deliberately *not* filtering by organization: only RLS stands between
organizations. `rls_probe` is a scratch table created by the owner with the same policy the
migrations use, because the real tables do not yet grant the application UPDATE/DELETE.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lib.db import tenant_transaction, unscoped_transaction
from lib.tenancy import Actor, RequestMeta, TenantContext
from tests.conftest import Database

META = RequestMeta(request_id="test", client_ip="203.0.113.5", user_agent="pytest")


def ctx(org_id: uuid.UUID) -> TenantContext:
    return TenantContext(org_id=org_id, actor=Actor.system(), request=META)


@pytest.fixture(scope="module")
def probe(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """Two organizations, each with a probe row and an audit event."""
    with database.connect("owner") as conn:
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS rls_probe (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                org_id uuid NOT NULL REFERENCES organizations (id),
                note text NOT NULL
            );
            ALTER TABLE rls_probe ENABLE ROW LEVEL SECURITY;
            ALTER TABLE rls_probe FORCE ROW LEVEL SECURITY;
            DROP POLICY IF EXISTS tenant_isolation ON rls_probe;
            CREATE POLICY tenant_isolation ON rls_probe
                USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
            GRANT SELECT, INSERT, UPDATE, DELETE ON rls_probe TO zentro_app;
            """
        )
    org_a, org_b = database.create_org("A"), database.create_org("B")
    for org in (org_a, org_b):
        with tenant_transaction(ctx(org)) as tx:
            tx.conn.execute(text("INSERT INTO rls_probe (org_id, note) VALUES (:org, 'original')"), {"org": org})
            tx.conn.execute(
                text("INSERT INTO audit_events (org_id, action, target_type) VALUES (:org, 'probe.created', 'probe')"),
                {"org": org},
            )
    return org_a, org_b


def count(sql: str, context: TenantContext | None) -> int:
    if context is None:
        with unscoped_transaction() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    with tenant_transaction(context) as tx:
        return int(tx.conn.execute(text(sql)).scalar_one())


@pytest.mark.parametrize("table", ["organizations", "audit_events", "rls_probe"])
def test_without_an_organization_tenant_tables_read_empty(probe: tuple[uuid.UUID, uuid.UUID], table: str) -> None:
    org_a, _ = probe
    assert count(f"SELECT count(*) FROM {table}", None) == 0
    assert count(f"SELECT count(*) FROM {table}", ctx(org_a)) >= 1  # same query, org set: rows exist


def test_without_an_organization_writes_fail(probe: tuple[uuid.UUID, uuid.UUID]) -> None:
    org_a, _ = probe
    with pytest.raises(DBAPIError, match="row-level security"), unscoped_transaction() as conn:
        conn.execute(text("INSERT INTO rls_probe (org_id, note) VALUES (:org, 'sneaky')"), {"org": org_a})
    with pytest.raises(DBAPIError, match="row-level security"), unscoped_transaction() as conn:
        conn.execute(
            text("INSERT INTO audit_events (org_id, action, target_type) VALUES (:org, 'probe.forged', 'probe')"),
            {"org": org_a},
        )
    with unscoped_transaction() as conn:
        assert conn.execute(text("UPDATE rls_probe SET note = 'x'")).rowcount == 0
        assert conn.execute(text("DELETE FROM rls_probe")).rowcount == 0


def test_org_a_sees_only_its_own_rows(probe: tuple[uuid.UUID, uuid.UUID]) -> None:
    org_a, org_b = probe
    with tenant_transaction(ctx(org_a)) as tx:
        orgs = {row.id for row in tx.conn.execute(text("SELECT id FROM organizations"))}
        probes = {row.org_id for row in tx.conn.execute(text("SELECT org_id FROM rls_probe"))}
        events = {row.org_id for row in tx.conn.execute(text("SELECT org_id FROM audit_events"))}
    assert orgs == probes == events == {org_a}
    assert org_b not in orgs


def test_org_a_cannot_update_or_delete_org_b_rows(probe: tuple[uuid.UUID, uuid.UUID], database: Database) -> None:
    org_a, org_b = probe
    with tenant_transaction(ctx(org_a)) as tx:
        assert (
            tx.conn.execute(text("UPDATE rls_probe SET note = 'hijacked' WHERE org_id = :b"), {"b": org_b}).rowcount
            == 0
        )
        assert tx.conn.execute(text("DELETE FROM rls_probe WHERE org_id = :b"), {"b": org_b}).rowcount == 0
        # The same statements on its own rows do work: the policy is what stops them, not a typo.
        assert (
            tx.conn.execute(text("UPDATE rls_probe SET note = 'edited' WHERE org_id = :a"), {"a": org_a}).rowcount == 1
        )
    with database.connect("superuser") as conn:
        notes = dict(
            conn.execute("SELECT org_id, note FROM rls_probe WHERE org_id IN (%s, %s)", (org_a, org_b)).fetchall()
        )
    assert notes == {org_a: "edited", org_b: "original"}


def test_org_a_cannot_write_rows_into_org_b(probe: tuple[uuid.UUID, uuid.UUID]) -> None:
    org_a, org_b = probe
    with pytest.raises(DBAPIError, match="row-level security"), tenant_transaction(ctx(org_a)) as tx:
        tx.conn.execute(text("INSERT INTO rls_probe (org_id, note) VALUES (:b, 'planted')"), {"b": org_b})
    with pytest.raises(DBAPIError, match="row-level security"), tenant_transaction(ctx(org_a)) as tx:
        tx.conn.execute(text("UPDATE rls_probe SET org_id = :b WHERE org_id = :a"), {"a": org_a, "b": org_b})
    with tenant_transaction(ctx(org_a)) as tx:
        tx.conn.execute(text("INSERT INTO rls_probe (org_id, note) VALUES (:a, 'mine')"), {"a": org_a})


def test_the_organization_setting_does_not_outlive_its_transaction(probe: tuple[uuid.UUID, uuid.UUID]) -> None:
    org_a, _ = probe
    for _ in range(3):  # same pooled connections, alternating
        assert count("SELECT count(*) FROM rls_probe", ctx(org_a)) >= 1
        assert count("SELECT count(*) FROM rls_probe", None) == 0
        with unscoped_transaction() as conn:
            assert conn.execute(text("SELECT coalesce(current_setting('app.org_id', true), '')")).scalar_one() == ""


def test_a_tenant_context_requires_a_real_organization_id() -> None:
    with pytest.raises(TypeError):
        TenantContext(org_id="00000000-0000-0000-0000-000000000001", actor=Actor.system(), request=META)  # type: ignore[arg-type]
    with pytest.raises(TypeError), tenant_transaction(None):  # type: ignore[arg-type]
        pass


def test_the_app_role_cannot_bypass_row_level_security(database: Database) -> None:
    with database.connect("app") as conn:
        row = conn.execute(
            """
            SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, 'zentro_app', 'MEMBER'),
                   EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)
            FROM pg_roles r WHERE r.rolname = current_user
            """
        ).fetchone()
        assert row == (False, False, True, False)
        # Nor can it switch RLS off or take ownership.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY")


def test_every_table_with_org_id_has_forced_rls_and_the_tenant_policy(database: Database) -> None:
    """White-box: a new tenant table without RLS, or with a policy that widens access, fails here."""
    with database.connect("superuser") as conn:
        tables = conn.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              AND EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
            """
        ).fetchall()
        policies = conn.execute(
            """
            SELECT tablename, policyname, cmd, roles, qual, with_check
            FROM pg_policies WHERE schemaname = 'public'
            """
        ).fetchall()
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'").fetchone()
    assert {name for name, *_ in tables} >= {"audit_events"}
    for name, enabled, forced in tables:
        assert enabled and forced, f"{name}: row-level security must be enabled and forced"
        tenant = [p for p in policies if p[0] == name and p[1] == "tenant_isolation"]
        assert tenant, f"{name}: no tenant_isolation policy"
        _, _, cmd, roles, qual, with_check = tenant[0]
        assert cmd == "ALL" and roles == ["public"]
        assert qual == with_check == "(org_id = app_current_org())", f"{name}: unexpected policy {qual!r}"
        for other in (p for p in policies if p[0] == name and p[1] != "tenant_isolation"):
            # Any extra permissive policy may only widen access for the schema owner.
            assert other[3] == [owner[0]], f"{name}: policy {other[1]} applies to {other[3]}"
