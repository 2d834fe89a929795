"""Burst limits: how many exports, imports and proof uploads each person made in the current window.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

One row per organization, person and kind of request (lib/bursts), restarted when its window
has passed: the table never holds more than people x kinds, so nothing needs to purge it. Tenant
data under row-level security like every other table: the application may read, insert and
update its organization's rows, never delete them (a count cannot be wiped to dodge the limit).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE request_bursts (
            org_id            uuid NOT NULL REFERENCES organizations (id),
            user_id           uuid NOT NULL REFERENCES users (id),
            kind              text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)+$' AND char_length(kind) <= 60),
            window_started_at timestamptz NOT NULL,
            hits              integer NOT NULL CHECK (hits > 0),
            PRIMARY KEY (org_id, user_id, kind)
        );
        ALTER TABLE request_bursts ENABLE ROW LEVEL SECURITY;
        ALTER TABLE request_bursts FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON request_bursts
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, UPDATE ON request_bursts TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE request_bursts;")
