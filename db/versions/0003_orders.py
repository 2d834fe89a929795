"""Orders: customers, orders with their items, and what searching them at scale needs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Money is integer minor units (cents) everywhere, and the database checks the arithmetic again:
a row whose total is not subtotal - discount + shipping cannot be stored. An order keeps a
snapshot of its recipient (name, phone, document, address) as it was when captured; the
customer row is the merchant's current record of that person, found again by phone.

Lists are keyset-paginated on (created_at, id) inside one organization, so every index that
serves a filtered list starts with org_id and ends with created_at DESC, id DESC: a page is an
index range scan whatever the table's size. Customer-name search goes through a table of the
words of each accent-folded name, because row-level security rules out a GIN index (see there).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STATUSES = (
    "'pending', 'confirmed', 'preparing', 'ready', 'dispatched', 'delivered', "
    "'failed_attempt', 'rescheduled', 'returned', 'cancelled'"
)
_CHANNELS = "'whatsapp', 'instagram', 'facebook', 'tiktok', 'web_store', 'marketplace', 'phone', 'other'"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE organizations ADD COLUMN next_order_number bigint NOT NULL DEFAULT 1
            CHECK (next_order_number > 0);
        GRANT UPDATE (next_order_number) ON organizations TO zentro_app;

        -- Events of one transaction share its timestamp; the sequence keeps the order they were
        -- written in, so a timeline reads "updated, then assigned" the same way every time.
        ALTER TABLE audit_events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;

        CREATE TABLE customers (
            id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id          uuid NOT NULL REFERENCES organizations (id),
            name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
            phone           text NOT NULL CHECK (phone ~ '^\\+[1-9][0-9]{{6,14}}$'),
            document_type   text NOT NULL CHECK (document_type IN ('DNI', 'RUC', 'FOREIGN')),
            document_number text NOT NULL CHECK (document_number ~ '^[A-Z0-9]{{5,15}}$'),
            email           text CHECK (char_length(email) <= 254),
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            UNIQUE (org_id, phone)
        );
        CREATE INDEX customers_document ON customers (org_id, document_type, document_number);
        ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
        ALTER TABLE customers FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON customers
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, UPDATE ON customers TO zentro_app;

        CREATE TABLE orders (
            id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id             uuid NOT NULL REFERENCES organizations (id),
            number             bigint NOT NULL CHECK (number > 0),
            external_ref       text CHECK (external_ref ~ '^[A-Za-z0-9._:/-]{{1,100}}$'),
            customer_id        uuid NOT NULL REFERENCES customers (id),
            customer_name      text NOT NULL CHECK (char_length(customer_name) BETWEEN 1 AND 200),
            search_name        text NOT NULL,
            customer_phone     text NOT NULL CHECK (customer_phone ~ '^\\+[1-9][0-9]{{6,14}}$'),
            document_type      text NOT NULL CHECK (document_type IN ('DNI', 'RUC', 'FOREIGN')),
            document_number    text NOT NULL CHECK (document_number ~ '^[A-Z0-9]{{5,15}}$'),
            customer_email     text CHECK (char_length(customer_email) <= 254),
            department         text NOT NULL CHECK (char_length(department) BETWEEN 1 AND 60),
            province           text NOT NULL CHECK (char_length(province) BETWEEN 1 AND 60),
            district           text NOT NULL CHECK (char_length(district) BETWEEN 1 AND 80),
            ubigeo             text NOT NULL CHECK (ubigeo ~ '^[0-9]{{6}}$'),
            address_line       text NOT NULL CHECK (char_length(address_line) BETWEEN 1 AND 300),
            address_reference  text NOT NULL DEFAULT '' CHECK (char_length(address_reference) <= 300),
            latitude           double precision CHECK (latitude BETWEEN -90 AND 90),
            longitude          double precision CHECK (longitude BETWEEN -180 AND 180),
            delivery_date      date,
            delivery_slot      text CHECK (delivery_slot ~ '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$'),
            channel            text NOT NULL CHECK (channel IN ({_CHANNELS})),
            seller_id          uuid NOT NULL REFERENCES users (id),
            rider_id           uuid REFERENCES users (id),
            carrier            text CHECK (carrier ~ '^[a-z][a-z0-9_]{{1,30}}$'),
            status             text NOT NULL DEFAULT 'pending' CHECK (status IN ({_STATUSES})),
            payment_status     text NOT NULL DEFAULT 'unpaid'
                               CHECK (payment_status IN ('unpaid', 'partially_paid', 'paid', 'overpaid', 'refunded')),
            delivery_outcome   text CHECK (delivery_outcome IN ('delivered', 'failed', 'returned')),
            delivery_attempts  integer NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
            collect_on_delivery boolean NOT NULL DEFAULT false,
            currency           text NOT NULL DEFAULT 'PEN' CHECK (currency IN ('PEN', 'USD')),
            subtotal_cents     bigint NOT NULL CHECK (subtotal_cents >= 0),
            discount_cents     bigint NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
            shipping_cents     bigint NOT NULL DEFAULT 0 CHECK (shipping_cents >= 0),
            total_cents        bigint NOT NULL CHECK (total_cents >= 0),
            notes              text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 2000),
            status_reason      text CHECK (char_length(status_reason) <= 500),
            duplicate_of       uuid REFERENCES orders (id),
            version            integer NOT NULL DEFAULT 1 CHECK (version > 0),
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now(),
            status_changed_at  timestamptz NOT NULL DEFAULT now(),
            UNIQUE (org_id, number),
            UNIQUE (org_id, external_ref),
            CHECK (total_cents = subtotal_cents - discount_cents + shipping_cents),
            CHECK (discount_cents <= subtotal_cents + shipping_cents),
            CHECK ((latitude IS NULL) = (longitude IS NULL))
        );
        CREATE INDEX orders_list ON orders (org_id, created_at DESC, id DESC);
        CREATE INDEX orders_status ON orders (org_id, status, created_at DESC, id DESC);
        CREATE INDEX orders_payment ON orders (org_id, payment_status, created_at DESC, id DESC);
        CREATE INDEX orders_seller ON orders (org_id, seller_id, created_at DESC, id DESC);
        CREATE INDEX orders_rider ON orders (org_id, rider_id, created_at DESC, id DESC) WHERE rider_id IS NOT NULL;
        CREATE INDEX orders_carrier ON orders (org_id, carrier, created_at DESC, id DESC) WHERE carrier IS NOT NULL;
        CREATE INDEX orders_district ON orders (org_id, ubigeo, created_at DESC, id DESC);
        CREATE INDEX orders_channel ON orders (org_id, channel, created_at DESC, id DESC);
        CREATE INDEX orders_phone ON orders (org_id, customer_phone, created_at DESC);
        CREATE INDEX orders_document ON orders (org_id, document_number);
        ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
        ALTER TABLE orders FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON orders
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, UPDATE ON orders TO zentro_app;

        -- Name search. Row-level security lets Postgres use an index only for conditions built
        -- from leakproof operators (a non-leakproof one could leak rows of other organizations
        -- through errors before the policy filters them). Full-text `@@`, LIKE and array
        -- operators are not leakproof, so a GIN index over names would never be used under the
        -- policy; `^@` (starts_with), `=` and `<` on text are. Each word of the customer's
        -- accent-folded name gets a row here, and a search for "ros mam" is a prefix range scan
        -- per word on a btree: index-served whatever the organization's size.
        CREATE TABLE order_name_words (
            org_id   uuid NOT NULL REFERENCES organizations (id),
            order_id uuid NOT NULL REFERENCES orders (id),
            word     text COLLATE "C" NOT NULL CHECK (char_length(word) BETWEEN 1 AND 60),
            PRIMARY KEY (org_id, order_id, word)
        );
        CREATE INDEX order_name_words_prefix ON order_name_words (org_id, word, order_id);
        ALTER TABLE order_name_words ENABLE ROW LEVEL SECURITY;
        ALTER TABLE order_name_words FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON order_name_words
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, DELETE ON order_name_words TO zentro_app;

        CREATE TABLE order_items (
            id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id           uuid NOT NULL REFERENCES organizations (id),
            order_id         uuid NOT NULL REFERENCES orders (id),
            position         smallint NOT NULL CHECK (position BETWEEN 1 AND 100),
            sku              text NOT NULL CHECK (char_length(sku) BETWEEN 1 AND 64),
            name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
            quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
            unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
            line_total_cents bigint NOT NULL,
            UNIQUE (order_id, position),
            CHECK (line_total_cents = quantity * unit_price_cents)
        );
        CREATE INDEX order_items_order ON order_items (org_id, order_id);
        ALTER TABLE order_items ENABLE ROW LEVEL SECURITY;
        ALTER TABLE order_items FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON order_items
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, UPDATE, DELETE ON order_items TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE order_name_words;
        DROP TABLE order_items;
        DROP TABLE orders;
        DROP TABLE customers;
        ALTER TABLE organizations DROP COLUMN next_order_number;
        ALTER TABLE audit_events DROP COLUMN seq;
        """
    )
