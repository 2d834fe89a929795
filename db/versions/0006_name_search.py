"""Name search that scales: keys walked newest first, so a page reads about as many rows as it shows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Until now a name search walked the organization's orders newest first and checked each for the
words typed (or, for rare words, read every order having the word and sorted them): its cost grew
with the organization. Row-level security rules out the usual answer (a GIN index: its operators
are not leakproof, see 0003), so `order_name_keys` holds, per order, one row per key of its
customer's name, in a btree on (org_id, key, created_at, order_id), whose conditions (`=` on
text and uuid, comparisons of timestamptz) are all leakproof:

- every prefix of three letters or more of each word of order_name_words: a word typed in part is
  one key, walked newest first, and the walk stops at the page's end;
- for each two words of three letters or more whose first three letters differ, the two 3-letter
  prefixes in code point order joined by a space: two words typed together ("zoila inga", a few
  dozen orders in a million) are one key as well, not the intersection of two long lists.

lib.orders.name_search writes the same keys from the same words (`name_keys`); deleting an order's
keys derives them from its stored words, so order_name_words stays, but its (org_id, word)
index, which only the old search read, goes. `created_at` is the order's (it never changes): the
keyset cursor (created_at, id) applies to the keys directly.

The keys carry no foreign keys, and order_name_words loses its own: an order has about fifteen
keys and three words, and checking each row against orders and organizations (a locking lookup
per row) halved the CSV import's speed. Both are derived indexes, written and deleted only with
their order's name in the same transaction (lib.orders.store); the application role cannot
delete orders; and row-level security's WITH CHECK still keeps every row in its writer's
organization. A key or word whose order did not exist would match nothing: search reads the
order through it.

The backfill reads orders and words as the owner, which row-level security (FORCEd) would show
nothing: both tables are un-forced for this transaction only (that takes their ACCESS EXCLUSIVE
lock until the migration commits).
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE order_name_keys (
            org_id     uuid NOT NULL,
            key        text COLLATE "C" NOT NULL CHECK (char_length(key) BETWEEN 3 AND 60),
            created_at timestamptz NOT NULL,
            order_id   uuid NOT NULL,
            PRIMARY KEY (org_id, key, created_at, order_id)
        );

        ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE order_name_words NO FORCE ROW LEVEL SECURITY;
        INSERT INTO order_name_keys (org_id, key, created_at, order_id)
        SELECT w.org_id, left(w.word, n), o.created_at, w.order_id
        FROM order_name_words w
        JOIN orders o ON o.id = w.order_id
        CROSS JOIN LATERAL generate_series(3, char_length(w.word)) AS n
        UNION
        SELECT a.org_id, left(a.word, 3) || ' ' || left(b.word, 3), o.created_at, a.order_id
        FROM order_name_words a
        JOIN order_name_words b ON b.org_id = a.org_id AND b.order_id = a.order_id AND left(a.word, 3) < left(b.word, 3)
        JOIN orders o ON o.id = a.order_id
        WHERE char_length(a.word) >= 3 AND char_length(b.word) >= 3;
        ALTER TABLE order_name_words FORCE ROW LEVEL SECURITY;
        ALTER TABLE orders FORCE ROW LEVEL SECURITY;

        ALTER TABLE order_name_keys ENABLE ROW LEVEL SECURITY;
        ALTER TABLE order_name_keys FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON order_name_keys
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, DELETE ON order_name_keys TO zentro_app;

        DROP INDEX order_name_words_prefix;
        ALTER TABLE order_name_words DROP CONSTRAINT order_name_words_org_id_fkey,
            DROP CONSTRAINT order_name_words_order_id_fkey;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE order_name_words ADD FOREIGN KEY (org_id) REFERENCES organizations (id),
            ADD FOREIGN KEY (order_id) REFERENCES orders (id);
        CREATE INDEX order_name_words_prefix ON order_name_words (org_id, word, order_id);
        DROP TABLE order_name_keys;
        """
    )
