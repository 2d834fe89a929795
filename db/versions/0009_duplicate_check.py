"""The duplicate check reads one index entry per item, however many orders the phone has.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A new order is flagged (`duplicate_of`) when an order for the same phone sharing an item was
captured in the last 24 hours and not cancelled. Until now that check joined every order of the
phone in those 24 hours with its items: a phone with thousands of orders that day (a shop's own
number, a reseller) cost thousands of rows per capture, read while the organization's numbering
lock is held, so every capture of the organization waited for it.

`order_phone_skus` files each SKU of a live order under its phone: (org_id, phone, sku,
created_at, order_id), the primary key in that order. For each (phone, sku) of a new order the
check is one index seek to the first entry after the 24-hour mark, which is the earliest order
sharing that item, or nothing. Cancelled orders have no entries (cancelling removes them), so the
seek never walks past orders that do not count. All its conditions (`=` on text and uuid, `>` on
timestamptz) are leakproof, so row-level security lets the index serve them.

Like order_name_keys (0006) it is a derived index written only by lib.orders.store, in the
transaction that writes what it derives from (capture, import, edit of the phone or the items,
cancellation, a customer's erasure), with no foreign keys: checking each row against orders
would take a locking lookup per item and slow the CSV import. Entries older than 24 hours are
never read again; they are kept (about 200 bytes per item) until a purge removes them.

The backfill files every order that is not cancelled. It reads orders and items as the owner,
which row-level security (FORCEd) would show nothing: both tables are un-forced for this
transaction only (that takes their ACCESS EXCLUSIVE lock until the migration commits).
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE order_phone_skus (
            org_id     uuid NOT NULL,
            phone      text COLLATE "C" NOT NULL,
            sku        text COLLATE "C" NOT NULL CHECK (char_length(sku) BETWEEN 1 AND 64),
            created_at timestamptz NOT NULL,
            order_id   uuid NOT NULL,
            PRIMARY KEY (org_id, phone, sku, created_at, order_id)
        );

        ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE order_items NO FORCE ROW LEVEL SECURITY;
        INSERT INTO order_phone_skus (org_id, phone, sku, created_at, order_id)
        SELECT DISTINCT o.org_id, o.customer_phone, i.sku, o.created_at, o.id
        FROM orders o JOIN order_items i ON i.org_id = o.org_id AND i.order_id = o.id
        WHERE o.status <> 'cancelled';
        ALTER TABLE order_items FORCE ROW LEVEL SECURITY;
        ALTER TABLE orders FORCE ROW LEVEL SECURITY;

        ALTER TABLE order_phone_skus ENABLE ROW LEVEL SECURITY;
        ALTER TABLE order_phone_skus FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON order_phone_skus
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, DELETE ON order_phone_skus TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE order_phone_skus;")
