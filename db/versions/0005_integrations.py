"""Integration credentials, courier shipments (Zeus), and key rotation progress.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

- `integrations`: one row per organization and provider. The credentials (username and
  password) are one sealed value (lib/crypto, bound to the row); only a hint of the username and
  when they were set are stored in clear. The portal URL is not a secret.
- `shipments`: an order's registration with a courier's back office, kept apart from the order so
  a sync never bumps the order's version under a person editing it. `registered` always has a
  tracking code, and only `registered` has one.
- Key rotation: `sealed_values_pending` finds, across organizations, values sealed under the
  given (old) key ids (the key id is bytes 2-5 of every sealed value, so this is SQL on the
  header, no key needed); `sealed_key_usage` counts values per key id, which says when an old key
  can be dropped; `key_rotations` records each rotation's progress. Both functions return ids
  and counts only, never a sealed value; the values are read and rewritten per organization,
  under row-level security.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every sealed column: (kind, table, column). lib/sealed_columns.py holds the same list, and a
# test compares them with each other and with the bytea columns of the schema.
_SEALED = (
    ("users.mfa_secret", "users", "mfa_secret"),
    ("jobs.payload", "jobs", "payload"),
    ("integrations.credentials", "integrations", "credentials"),
)


# The key id a sealed value names: bytes 1-4 (0-based), unsigned big-endian.
_KEY_ID = "(get_byte({c}, 1)::bigint << 24 | get_byte({c}, 2) << 16 | get_byte({c}, 3) << 8 | get_byte({c}, 4))"


def _pending_sql() -> str:
    parts = [
        f"(SELECT '{kind}'::text, org_id, id FROM public.{table} "
        f"WHERE {column} IS NOT NULL AND length({column}) >= 5 AND {_KEY_ID.format(c=column)} = ANY (p_key_ids) "
        "LIMIT p_limit)"
        for kind, table, column in _SEALED
    ]
    return "\n                UNION ALL ".join(parts)


def _usage_sql() -> str:
    parts = [
        f"SELECT '{kind}'::text, {_KEY_ID.format(c=column)}, count(*) FROM public.{table} "
        f"WHERE {column} IS NOT NULL AND length({column}) >= 5 GROUP BY 2"
        for kind, table, column in _SEALED
    ]
    return "\n                UNION ALL ".join(parts)


def upgrade() -> None:
    op.execute(
        f"""
        -- --- integrations ---------------------------------------------------------------------
        CREATE TABLE integrations (
            id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id             uuid NOT NULL REFERENCES organizations (id),
            provider           text NOT NULL CHECK (provider IN ('zeus')),
            portal_url         text NOT NULL CHECK (char_length(portal_url) BETWEEN 8 AND 300),
            username_hint      text NOT NULL CHECK (char_length(username_hint) BETWEEN 1 AND 16),
            credentials        bytea NOT NULL CHECK (length(credentials) >= 33),
            credentials_set_at timestamptz NOT NULL,
            credentials_set_by uuid NOT NULL REFERENCES users (id),
            last_test_at       timestamptz,
            last_test_ok       boolean,
            last_test_problem  text CHECK (char_length(last_test_problem) <= 60),
            version            integer NOT NULL DEFAULT 1 CHECK (version > 0),
            created_at         timestamptz NOT NULL DEFAULT now(),
            UNIQUE (org_id, provider),
            CHECK ((last_test_at IS NULL) = (last_test_ok IS NULL))
        );
        ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
        ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON integrations
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        -- Key rotation's functions (below, SECURITY DEFINER) list rows of every organization: ids
        -- and key ids only. The values themselves are read and rewritten by the app, per tenant.
        CREATE POLICY owner_rotation_read ON integrations FOR SELECT TO CURRENT_USER USING (true);
        GRANT SELECT, INSERT, DELETE ON integrations TO zentro_app;
        GRANT UPDATE (portal_url, username_hint, credentials, credentials_set_at, credentials_set_by,
                      last_test_at, last_test_ok, last_test_problem, version)
            ON integrations TO zentro_app;

        -- --- shipments --------------------------------------------------------------------------
        CREATE TABLE shipments (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id         uuid NOT NULL REFERENCES organizations (id),
            order_id       uuid NOT NULL REFERENCES orders (id),
            carrier        text NOT NULL CHECK (carrier IN ('zeus')),
            state          text NOT NULL CHECK (state IN ('queued', 'registered', 'retrying', 'needs_review')),
            tracking_code  text CHECK (tracking_code ~ '^[A-Za-z0-9-]{{1,40}}$'),
            attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            last_sync_at   timestamptz,
            problem        text CHECK (problem ~ '^[a-z_]{{1,60}}$'),
            problem_detail text CHECK (char_length(problem_detail) <= 300),
            screenshot_key text CHECK (screenshot_key ~ '^screenshots/[0-9a-f-]{{36}}/[0-9a-f-]{{36}}[.]png$'),
            created_at     timestamptz NOT NULL,
            updated_at     timestamptz NOT NULL,
            UNIQUE (org_id, order_id),
            CHECK ((state = 'registered') = (tracking_code IS NOT NULL)),
            CHECK (state <> 'registered' OR problem IS NULL)
        );
        CREATE INDEX shipments_review ON shipments (org_id, updated_at DESC) WHERE state = 'needs_review';
        ALTER TABLE shipments ENABLE ROW LEVEL SECURITY;
        ALTER TABLE shipments FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON shipments
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT ON shipments TO zentro_app;
        GRANT UPDATE (state, tracking_code, attempts, last_sync_at, problem, problem_detail, screenshot_key,
                      updated_at)
            ON shipments TO zentro_app;

        -- --- key rotation -----------------------------------------------------------------------
        CREATE TABLE key_rotations (
            key_id       bigint PRIMARY KEY CHECK (key_id BETWEEN 1 AND 4294967295),
            started_at   timestamptz NOT NULL,
            last_run_at  timestamptz NOT NULL,
            resealed     bigint NOT NULL DEFAULT 0 CHECK (resealed >= 0),
            remaining    bigint NOT NULL CHECK (remaining >= 0),
            completed_at timestamptz
        );
        GRANT SELECT, INSERT, UPDATE ON key_rotations TO zentro_app;

        CREATE FUNCTION sealed_values_pending(p_key_ids bigint[], p_limit integer)
            RETURNS TABLE (kind text, org_id uuid, record_id uuid)
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                SELECT * FROM (
                {_pending_sql()}
                ) AS pending LIMIT p_limit
            $$;

        CREATE FUNCTION sealed_key_usage()
            RETURNS TABLE (kind text, key_id bigint, sealed_values bigint)
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                {_usage_sql()}
            $$;

        REVOKE ALL ON FUNCTION sealed_values_pending(bigint[], integer) FROM PUBLIC;
        REVOKE ALL ON FUNCTION sealed_key_usage() FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION sealed_values_pending(bigint[], integer) TO zentro_app;
        GRANT EXECUTE ON FUNCTION sealed_key_usage() TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION sealed_key_usage();
        DROP FUNCTION sealed_values_pending(bigint[], integer);
        DROP TABLE key_rotations;
        DROP TABLE shipments;
        DROP TABLE integrations;
        """
    )
