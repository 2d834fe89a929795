"""Identity: users, sessions, one-time tokens, MFA recovery codes, login throttling, jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Every table with `org_id` gets the tenant policy of 0001. A few steps of authentication happen
before the organization is known (finding the account for an email at login, resolving a
session cookie, redeeming a one-time token, claiming due jobs across organizations). Those go
through SECURITY DEFINER functions owned by the schema owner, each doing exactly one narrow
thing; the owner may read (and, for sessions and jobs, update) these tables through an
owner-only policy. The application role still cannot read another organization's rows with
its own SQL.

Times that decide expiry (session idle and absolute limits, token expiry, throttling windows)
are passed in by the application (`p_now`), so tests can move the clock.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE organizations ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;
        GRANT UPDATE (mfa_required) ON organizations TO zentro_app;
        -- The owner's functions join organizations to sessions.
        CREATE POLICY owner_auth_read ON organizations FOR SELECT TO CURRENT_USER USING (true);

        CREATE TABLE users (
            id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id              uuid NOT NULL REFERENCES organizations (id),
            email               text NOT NULL
                                CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 254
                                       AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
            full_name           text NOT NULL DEFAULT '' CHECK (char_length(full_name) <= 200),
            role                text NOT NULL CHECK (role IN ('ADMIN', 'SUPERVISOR', 'SELLER', 'LOGISTICS')),
            status              text NOT NULL CHECK (status IN ('invited', 'active', 'deactivated')),
            language            text NOT NULL DEFAULT 'es' CHECK (language IN ('es', 'en')),
            password_hash       text,
            password_changed_at timestamptz,
            mfa_secret          bytea,
            mfa_enabled_at      timestamptz,
            mfa_last_step       bigint NOT NULL DEFAULT 0,
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now(),
            CHECK (status <> 'active' OR password_hash IS NOT NULL),
            CHECK (mfa_enabled_at IS NULL OR mfa_secret IS NOT NULL)
        );
        -- One account per email, across organizations: login is by email alone.
        CREATE UNIQUE INDEX users_email ON users (email);
        CREATE INDEX users_org_role ON users (org_id, role, status);
        ALTER TABLE users ENABLE ROW LEVEL SECURITY;
        ALTER TABLE users FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON users
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        CREATE POLICY owner_auth_read ON users FOR SELECT TO CURRENT_USER USING (true);
        GRANT SELECT, INSERT, UPDATE ON users TO zentro_app;

        CREATE TABLE sessions (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id         uuid NOT NULL REFERENCES organizations (id),
            user_id        uuid NOT NULL REFERENCES users (id),
            token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
            created_at     timestamptz NOT NULL,
            last_seen_at   timestamptz NOT NULL,
            expires_at     timestamptz NOT NULL,
            revoked_at     timestamptz,
            revoked_reason text CHECK (char_length(revoked_reason) <= 40),
            client_ip      inet,
            user_agent     text CHECK (char_length(user_agent) <= 512)
        );
        CREATE INDEX sessions_live_by_user ON sessions (org_id, user_id) WHERE revoked_at IS NULL;
        CREATE INDEX sessions_expiry ON sessions (expires_at);
        ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
        ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON sessions
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        CREATE POLICY owner_auth ON sessions FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
        GRANT SELECT, INSERT, UPDATE ON sessions TO zentro_app;

        CREATE TABLE auth_tokens (
            id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id     uuid NOT NULL REFERENCES organizations (id),
            user_id    uuid NOT NULL REFERENCES users (id),
            purpose    text NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
            token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at    timestamptz
        );
        CREATE INDEX auth_tokens_user ON auth_tokens (org_id, user_id, purpose) WHERE used_at IS NULL;
        ALTER TABLE auth_tokens ENABLE ROW LEVEL SECURITY;
        ALTER TABLE auth_tokens FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON auth_tokens
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        CREATE POLICY owner_auth_read ON auth_tokens FOR SELECT TO CURRENT_USER USING (true);
        GRANT SELECT, INSERT, UPDATE ON auth_tokens TO zentro_app;

        CREATE TABLE mfa_recovery_codes (
            id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id     uuid NOT NULL REFERENCES organizations (id),
            user_id    uuid NOT NULL REFERENCES users (id),
            code_hash  bytea NOT NULL CHECK (length(code_hash) = 32),
            created_at timestamptz NOT NULL DEFAULT now(),
            used_at    timestamptz,
            UNIQUE (user_id, code_hash)
        );
        ALTER TABLE mfa_recovery_codes ENABLE ROW LEVEL SECURITY;
        ALTER TABLE mfa_recovery_codes FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON mfa_recovery_codes
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_recovery_codes TO zentro_app;

        -- Failed-login counters per account and per client address. Keyed by an HMAC, so the
        -- emails of people without an account are never stored. Not tenant data.
        CREATE TABLE auth_throttle (
            key               bytea PRIMARY KEY CHECK (length(key) = 32),
            failures          integer NOT NULL CHECK (failures >= 0),
            window_started_at timestamptz NOT NULL,
            locked_until      timestamptz
        );
        GRANT SELECT, INSERT, UPDATE, DELETE ON auth_throttle TO zentro_app;

        -- Work that talks to the outside world, drained by cron with retries. The payload is
        -- sealed (lib/crypto): emails carry one-time links, and it is wiped once delivered.
        CREATE TABLE jobs (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id       uuid NOT NULL REFERENCES organizations (id),
            kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),
            payload      bytea,
            status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'dead')),
            attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
            run_after    timestamptz NOT NULL,
            locked_until timestamptz,
            last_error   text CHECK (char_length(last_error) <= 500),
            result       text CHECK (char_length(result) <= 200),
            created_at   timestamptz NOT NULL DEFAULT now(),
            finished_at  timestamptz,
            CHECK (status <> 'pending' OR payload IS NOT NULL)
        );
        CREATE INDEX jobs_due ON jobs (kind, run_after) WHERE status IN ('pending', 'running');
        CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('done', 'dead');
        ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
        ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON jobs
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        CREATE POLICY owner_jobs ON jobs FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
        GRANT SELECT, INSERT, UPDATE ON jobs TO zentro_app;

        -- Login: the account behind an email, whatever its organization.
        CREATE FUNCTION auth_login_candidate(p_email text)
            RETURNS TABLE (user_id uuid, org_id uuid, role text, password_hash text, status text)
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                SELECT u.id, u.org_id, u.role, u.password_hash, u.status
                FROM public.users u WHERE u.email = lower(p_email)
            $$;

        -- A session cookie's session, if live: not revoked, within its absolute lifetime and idle
        -- timeout, its user active. Refreshes last_seen_at at most once a minute.
        CREATE FUNCTION auth_session_resolve(p_token_hash bytea, p_now timestamptz, p_idle_seconds integer)
            RETURNS TABLE (session_id uuid, org_id uuid, user_id uuid, role text, language text,
                           mfa_enabled boolean, org_mfa_required boolean, created_at timestamptz)
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
            DECLARE
                seen timestamptz;
            BEGIN
                SELECT s.id, s.org_id, s.user_id, u.role, u.language, u.mfa_enabled_at IS NOT NULL,
                       o.mfa_required, s.created_at, s.last_seen_at
                INTO session_id, org_id, user_id, role, language, mfa_enabled, org_mfa_required,
                     created_at, seen
                FROM public.sessions s
                JOIN public.users u ON u.id = s.user_id AND u.org_id = s.org_id
                JOIN public.organizations o ON o.id = s.org_id
                WHERE s.token_hash = p_token_hash
                  AND s.revoked_at IS NULL
                  AND s.expires_at > p_now
                  AND s.last_seen_at > p_now - make_interval(secs => p_idle_seconds)
                  AND u.status = 'active';
                IF NOT FOUND THEN
                    RETURN;
                END IF;
                IF seen < p_now - interval '60 seconds' THEN
                    UPDATE public.sessions SET last_seen_at = p_now WHERE id = session_id;
                END IF;
                RETURN NEXT;
            END
            $$;

        -- A one-time token's account, if the token is unused, unexpired and of this purpose.
        -- Redeeming it (used_at) happens in the caller's tenant transaction.
        CREATE FUNCTION auth_find_token(p_token_hash bytea, p_purpose text, p_now timestamptz)
            RETURNS TABLE (token_id uuid, org_id uuid, user_id uuid)
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                SELECT t.id, t.org_id, t.user_id FROM public.auth_tokens t
                WHERE t.token_hash = p_token_hash AND t.purpose = p_purpose
                  AND t.used_at IS NULL AND t.expires_at > p_now
            $$;

        -- Claim due jobs of one kind across organizations, with a lease; a job whose lease ran
        -- out (its worker died) is claimed again.
        CREATE FUNCTION jobs_claim(p_kind text, p_limit integer, p_now timestamptz, p_lease_seconds integer)
            RETURNS TABLE (job_id uuid, org_id uuid, attempts integer, max_attempts integer)
            LANGUAGE sql SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                UPDATE public.jobs j
                SET status = 'running', attempts = j.attempts + 1,
                    locked_until = p_now + make_interval(secs => p_lease_seconds)
                WHERE j.id IN (
                    SELECT id FROM public.jobs
                    WHERE kind = p_kind
                      AND ((status = 'pending' AND run_after <= p_now)
                           OR (status = 'running' AND locked_until < p_now))
                    ORDER BY run_after
                    LIMIT p_limit
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING j.id, j.org_id, j.attempts, j.max_attempts
            $$;

        -- Daily retention for authentication data: expired or revoked sessions, spent or expired
        -- one-time tokens, idle throttle counters, and finished jobs, after 30 days.
        CREATE FUNCTION auth_purge_expired(p_now timestamptz)
            RETURNS TABLE (run_id bigint, removed bigint)
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
            DECLARE
                cutoff timestamptz := p_now - interval '30 days';
                n_sessions bigint; n_tokens bigint; n_throttle bigint; n_jobs bigint;
            BEGIN
                DELETE FROM public.sessions
                    WHERE expires_at < cutoff OR revoked_at < cutoff;
                GET DIAGNOSTICS n_sessions = ROW_COUNT;
                DELETE FROM public.auth_tokens
                    WHERE expires_at < cutoff OR used_at < cutoff;
                GET DIAGNOSTICS n_tokens = ROW_COUNT;
                DELETE FROM public.auth_throttle
                    WHERE window_started_at < p_now - interval '1 day'
                      AND (locked_until IS NULL OR locked_until < p_now);
                GET DIAGNOSTICS n_throttle = ROW_COUNT;
                DELETE FROM public.jobs WHERE status IN ('done', 'dead') AND finished_at < cutoff;
                GET DIAGNOSTICS n_jobs = ROW_COUNT;
                INSERT INTO public.maintenance_runs (job, rows_affected, details)
                    VALUES ('auth_purge', n_sessions + n_tokens + n_throttle + n_jobs,
                            jsonb_build_object('sessions', n_sessions, 'tokens', n_tokens,
                                               'throttle', n_throttle, 'jobs', n_jobs))
                    RETURNING id INTO run_id;
                removed := n_sessions + n_tokens + n_throttle + n_jobs;
                RETURN NEXT;
            END
            $$;

        -- Token and session tables need DELETE for the purge; only the owner has it.
        CREATE POLICY owner_purge ON auth_tokens FOR DELETE TO CURRENT_USER USING (true);

        REVOKE ALL ON FUNCTION auth_login_candidate(text) FROM PUBLIC;
        REVOKE ALL ON FUNCTION auth_session_resolve(bytea, timestamptz, integer) FROM PUBLIC;
        REVOKE ALL ON FUNCTION auth_find_token(bytea, text, timestamptz) FROM PUBLIC;
        REVOKE ALL ON FUNCTION jobs_claim(text, integer, timestamptz, integer) FROM PUBLIC;
        REVOKE ALL ON FUNCTION auth_purge_expired(timestamptz) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION auth_login_candidate(text) TO zentro_app;
        GRANT EXECUTE ON FUNCTION auth_session_resolve(bytea, timestamptz, integer) TO zentro_app;
        GRANT EXECUTE ON FUNCTION auth_find_token(bytea, text, timestamptz) TO zentro_app;
        GRANT EXECUTE ON FUNCTION jobs_claim(text, integer, timestamptz, integer) TO zentro_app;
        GRANT EXECUTE ON FUNCTION auth_purge_expired(timestamptz) TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION auth_purge_expired(timestamptz);
        DROP FUNCTION jobs_claim(text, integer, timestamptz, integer);
        DROP FUNCTION auth_find_token(bytea, text, timestamptz);
        DROP FUNCTION auth_session_resolve(bytea, timestamptz, integer);
        DROP FUNCTION auth_login_candidate(text);
        DROP TABLE jobs;
        DROP TABLE auth_throttle;
        DROP TABLE mfa_recovery_codes;
        DROP TABLE auth_tokens;
        DROP TABLE sessions;
        DROP TABLE users;
        DROP POLICY owner_auth_read ON organizations;
        ALTER TABLE organizations DROP COLUMN mfa_required;
        """
    )
