"""Foundation: the application role, tenants with row-level security, the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Security model, enforced here rather than in application code:

- The application logs in as a role that is a member of `zentro_app`. It owns nothing, has no
  BYPASSRLS, and gets only the privileges granted below.
- Every tenant table carries `org_id`, has row-level security ENABLED and FORCED (so even the
  owner is subject to it) and a policy keyed on `app_current_org()`, the transaction-local
  setting `app.org_id`. No setting: no rows, and no writes.
- `audit_events` is append-only for the application (SELECT, INSERT only). A trigger stamps
  `occurred_at` with the database clock. Deletion happens only through
  `audit_purge_expired()`, owned by the schema owner, which refuses retentions under 90 days,
  can only reach rows older than 90 days (a policy says so), and records each run in
  `maintenance_runs`, which the application can read but not write.
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zentro_app') THEN
                CREATE ROLE zentro_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        END
        $$;
        GRANT USAGE ON SCHEMA public TO zentro_app;

        CREATE FUNCTION app_current_org() RETURNS uuid
            LANGUAGE sql STABLE PARALLEL SAFE
            AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

        CREATE TABLE organizations (
            id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
            slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 63),
            created_at timestamptz NOT NULL DEFAULT now()
        );
        ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
        ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON organizations
            USING (id = app_current_org()) WITH CHECK (id = app_current_org());
        GRANT SELECT ON organizations TO zentro_app;

        CREATE TABLE audit_events (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id        uuid NOT NULL REFERENCES organizations (id),
            occurred_at   timestamptz NOT NULL DEFAULT now(),
            actor_user_id uuid,
            actor_role    text CHECK (actor_role IN ('ADMIN', 'SUPERVISOR', 'SELLER', 'LOGISTICS')),
            action        text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
            target_type   text NOT NULL CHECK (target_type ~ '^[a-z][a-z0-9_]*$'),
            target_id     text CHECK (char_length(target_id) <= 200),
            request_id    text CHECK (char_length(request_id) <= 100),
            client_ip     inet,
            user_agent    text CHECK (char_length(user_agent) <= 512),
            before        jsonb,
            after         jsonb
        );
        CREATE INDEX audit_events_org_time ON audit_events (org_id, occurred_at DESC);
        CREATE INDEX audit_events_target ON audit_events (org_id, target_type, target_id, occurred_at);
        CREATE INDEX audit_events_time ON audit_events (occurred_at);

        CREATE FUNCTION audit_events_stamp() RETURNS trigger
            LANGUAGE plpgsql
            AS $$ BEGIN NEW.occurred_at := now(); RETURN NEW; END $$;
        CREATE TRIGGER audit_events_stamp BEFORE INSERT ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_stamp();

        ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
        ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON audit_events
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        -- The owner (through audit_purge_expired) may see and delete only expired events.
        CREATE POLICY retention_purge_select ON audit_events FOR SELECT TO CURRENT_USER
            USING (occurred_at < now() - interval '90 days');
        CREATE POLICY retention_purge_delete ON audit_events FOR DELETE TO CURRENT_USER
            USING (occurred_at < now() - interval '90 days');
        GRANT SELECT, INSERT ON audit_events TO zentro_app;

        CREATE TABLE maintenance_runs (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job           text NOT NULL,
            ran_at        timestamptz NOT NULL DEFAULT now(),
            rows_affected bigint NOT NULL CHECK (rows_affected >= 0),
            details       jsonb NOT NULL DEFAULT '{}'::jsonb
        );
        CREATE INDEX maintenance_runs_job_time ON maintenance_runs (job, ran_at DESC);
        GRANT SELECT ON maintenance_runs TO zentro_app;

        CREATE FUNCTION audit_purge_expired(retention_days integer)
            RETURNS TABLE (run_id bigint, removed bigint)
            LANGUAGE plpgsql
            SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
            DECLARE
                cutoff timestamptz;
                n bigint;
            BEGIN
                IF retention_days IS NULL OR retention_days < 90 THEN
                    RAISE EXCEPTION 'audit retention must be at least 90 days, got %', retention_days
                        USING ERRCODE = '22023';
                END IF;
                cutoff := now() - make_interval(days => retention_days);
                DELETE FROM public.audit_events WHERE occurred_at < cutoff;
                GET DIAGNOSTICS n = ROW_COUNT;
                INSERT INTO public.maintenance_runs (job, rows_affected, details)
                    VALUES ('audit_purge', n,
                            jsonb_build_object('retention_days', retention_days, 'cutoff', cutoff))
                    RETURNING id INTO run_id;
                removed := n;
                RETURN NEXT;
            END
            $$;
        REVOKE ALL ON FUNCTION audit_purge_expired(integer) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION audit_purge_expired(integer) TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION audit_purge_expired(integer);
        DROP TABLE maintenance_runs;
        DROP TABLE audit_events;
        DROP FUNCTION audit_events_stamp();
        DROP TABLE organizations;
        DROP FUNCTION app_current_org();
        """
    )
