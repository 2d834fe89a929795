"""Queued work that waits for a person instead of dying, invitations that say nothing of other
organizations, and password-reset requests queued so that every answer costs the same.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Jobs (lib/jobs):
- `retry_until`: a job's retry budget is a time span from when it was queued (or last retried by a
  person), not a count of attempts. Past it, a failing job is `dead` and KEEPS its sealed payload
  until an ADMIN retries it (pending again, with a new budget) or discards it (`discarded`, payload
  wiped). The purge removes done and discarded jobs after 30 days, never dead ones.
- `first_error`, `last_attempt_at`: what a person deciding about a dead job needs to see.
- `jobs_claim` counts an attempt as it hands the job to a worker that is about to try it (workers
  claim one job at a time, lib/jobs); a job whose worker died (lease over) past its budget is made
  dead instead of being handed out again.

Users: one account per email across organizations still holds for accounts (active or
deactivated: login is by email alone), but an invitation is a row of its own organization only, so
inviting an address never depends on whether another organization has it: `users_email` becomes
unique among non-invited users, plus unique per organization. `auth_login_candidate` ignores
invitations (an invited user cannot log in anyway).

`password_reset_requests`: a reset request is stored (its email sealed) and answered at once; the
outbox cron looks the account up and sends the link. Not tenant data (no organization is known
yet), like auth_throttle; the application may insert, read and delete rows.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        ALTER TABLE jobs ADD COLUMN retry_until timestamptz;
        UPDATE jobs SET retry_until = created_at + interval '72 hours';
        ALTER TABLE jobs ALTER COLUMN retry_until SET NOT NULL;
        ALTER TABLE jobs ADD COLUMN first_error text CHECK (char_length(first_error) <= 500);
        ALTER TABLE jobs ADD COLUMN last_attempt_at timestamptz;
        ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
        ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
            CHECK (status IN ('pending', 'running', 'done', 'dead', 'discarded'));
        -- Until now a dead job lost its payload: nothing is left to retry, so it counts as discarded.
        UPDATE jobs SET status = 'discarded' WHERE status = 'dead' AND payload IS NULL;
        ALTER TABLE jobs ADD CONSTRAINT jobs_dead_keeps_payload CHECK (status <> 'dead' OR payload IS NOT NULL);
        ALTER TABLE jobs DROP COLUMN max_attempts;
        CREATE INDEX jobs_dead ON jobs (org_id, finished_at DESC) WHERE status = 'dead';
        DROP INDEX jobs_finished;
        CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('done', 'discarded');

        DROP FUNCTION jobs_claim(text, integer, timestamptz, integer);
        CREATE FUNCTION jobs_claim(p_kind text, p_limit integer, p_now timestamptz, p_lease_seconds integer)
            RETURNS TABLE (job_id uuid, org_id uuid, attempts integer, retry_until timestamptz)
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
            BEGIN
                -- A worker died holding these (its function was stopped), and their budget is spent.
                UPDATE public.jobs j
                SET status = 'dead', finished_at = p_now, locked_until = NULL,
                    last_error = 'worker stopped before finishing (time limit)',
                    first_error = coalesce(j.first_error, 'worker stopped before finishing (time limit)')
                WHERE j.kind = p_kind AND j.status = 'running' AND j.locked_until < p_now
                  AND j.retry_until <= p_now;
                RETURN QUERY
                UPDATE public.jobs j
                SET status = 'running', attempts = j.attempts + 1, last_attempt_at = p_now,
                    locked_until = p_now + make_interval(secs => p_lease_seconds)
                WHERE j.id IN (
                    SELECT id FROM public.jobs
                    WHERE kind = p_kind
                      AND ((status = 'pending' AND run_after <= p_now)
                           OR (status = 'running' AND locked_until < p_now))
                    ORDER BY run_after
                    LIMIT p_limit
                    FOR NO KEY UPDATE SKIP LOCKED
                )
                RETURNING j.id, j.org_id, j.attempts, j.retry_until;
            END
            $$;
        REVOKE ALL ON FUNCTION jobs_claim(text, integer, timestamptz, integer) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION jobs_claim(text, integer, timestamptz, integer) TO zentro_app;

        DROP INDEX users_email;
        CREATE UNIQUE INDEX users_email ON users (email) WHERE status <> 'invited';
        CREATE UNIQUE INDEX users_org_email ON users (org_id, email);
        CREATE OR REPLACE FUNCTION auth_login_candidate(p_email text)
            RETURNS TABLE (user_id uuid, org_id uuid, role text, password_hash text, status text)
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                SELECT u.id, u.org_id, u.role, u.password_hash, u.status
                FROM public.users u WHERE u.email = lower(p_email) AND u.status <> 'invited'
            $$;

        CREATE TABLE password_reset_requests (
            id           uuid PRIMARY KEY,
            email        bytea NOT NULL,
            requested_at timestamptz NOT NULL,
            request_id   text CHECK (char_length(request_id) <= 100),
            client_ip    inet,
            user_agent   text CHECK (char_length(user_agent) <= 512)
        );
        CREATE INDEX password_reset_requests_time ON password_reset_requests (requested_at);
        GRANT SELECT, INSERT, DELETE ON password_reset_requests TO zentro_app;

        CREATE OR REPLACE FUNCTION auth_purge_expired(p_now timestamptz)
            RETURNS TABLE (run_id bigint, removed bigint)
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
            DECLARE
                cutoff timestamptz := p_now - interval '30 days';
                n_sessions bigint; n_tokens bigint; n_throttle bigint; n_jobs bigint; n_resets bigint;
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
                -- Dead jobs wait for a person (retry or discard); only settled ones go.
                DELETE FROM public.jobs WHERE status IN ('done', 'discarded') AND finished_at < cutoff;
                GET DIAGNOSTICS n_jobs = ROW_COUNT;
                -- A request the cron could not handle within a day is stale: its link would be late.
                DELETE FROM public.password_reset_requests WHERE requested_at < p_now - interval '1 day';
                GET DIAGNOSTICS n_resets = ROW_COUNT;
                INSERT INTO public.maintenance_runs (job, rows_affected, details)
                    VALUES ('auth_purge', n_sessions + n_tokens + n_throttle + n_jobs + n_resets,
                            jsonb_build_object('sessions', n_sessions, 'tokens', n_tokens,
                                               'throttle', n_throttle, 'jobs', n_jobs,
                                               'reset_requests', n_resets))
                    RETURNING id INTO run_id;
                removed := n_sessions + n_tokens + n_throttle + n_jobs + n_resets;
                RETURN NEXT;
            END
            $$;
        """
    )


def downgrade() -> None:
    # Back to 0007's shapes: invitations sharing an address with an account elsewhere, and
    # discarded jobs, have no place there and go first.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION auth_purge_expired(p_now timestamptz)
            RETURNS TABLE (run_id bigint, removed bigint)
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
            DECLARE
                cutoff timestamptz := p_now - interval '30 days';
                n_sessions bigint; n_tokens bigint; n_throttle bigint; n_jobs bigint;
            BEGIN
                DELETE FROM public.sessions WHERE expires_at < cutoff OR revoked_at < cutoff;
                GET DIAGNOSTICS n_sessions = ROW_COUNT;
                DELETE FROM public.auth_tokens WHERE expires_at < cutoff OR used_at < cutoff;
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
        DROP TABLE password_reset_requests;
        DELETE FROM users u WHERE u.status = 'invited'
            AND EXISTS (SELECT FROM users o WHERE o.email = u.email AND o.id <> u.id);
        DROP INDEX users_org_email;
        DROP INDEX users_email;
        CREATE UNIQUE INDEX users_email ON users (email);
        CREATE OR REPLACE FUNCTION auth_login_candidate(p_email text)
            RETURNS TABLE (user_id uuid, org_id uuid, role text, password_hash text, status text)
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
            AS $$
                SELECT u.id, u.org_id, u.role, u.password_hash, u.status
                FROM public.users u WHERE u.email = lower(p_email)
            $$;
        DROP FUNCTION jobs_claim(text, integer, timestamptz, integer);
        ALTER TABLE jobs ADD COLUMN max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0);
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
                    FOR NO KEY UPDATE SKIP LOCKED
                )
                RETURNING j.id, j.org_id, j.attempts, j.max_attempts
            $$;
        REVOKE ALL ON FUNCTION jobs_claim(text, integer, timestamptz, integer) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION jobs_claim(text, integer, timestamptz, integer) TO zentro_app;
        ALTER TABLE jobs DROP CONSTRAINT jobs_dead_keeps_payload;
        UPDATE jobs SET status = 'dead', payload = NULL WHERE status = 'discarded';
        DROP INDEX jobs_dead;
        DROP INDEX jobs_finished;
        CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('done', 'dead');
        ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
        ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('pending', 'running', 'done', 'dead'));
        ALTER TABLE jobs DROP COLUMN last_attempt_at, DROP COLUMN first_error, DROP COLUMN retry_until;
        """
    )
