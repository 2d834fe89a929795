"""Payments, payment proofs, cash-on-delivery settlements, and anonymised customers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

An order's payment status is derived, in one place: `order_payment_status(total, paid,
refunded)` below. `orders.paid_cents`, `refunded_cents` and `prepaid_cents` are running sums of
the order's *verified* payments, kept by a trigger on `payments` (a delta per row change, so two
transactions verifying payments of one order add up instead of overwriting each other), and a
trigger on `orders` recomputes `payment_status` whenever the total or those sums change. The
application role cannot write any of these columns: a client, or a bug, cannot set an order to
paid. They exist on the order row (rather than being summed on every read) so the order list can
filter on payment status through an index, and LOGISTICS' views can show the amount to collect.

- paid_cents: verified payments, cash collected on delivery included;
- refunded_cents: verified refunds;
- prepaid_cents: verified payments made before delivery (not collected by a rider), less refunds:
  the amount to collect on delivery is total - prepaid.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_METHODS = "'yape', 'plin', 'bank_transfer', 'card', 'cash_on_delivery', 'other'"


def upgrade() -> None:
    op.execute(
        f"""
        -- --- derived payment columns on orders ----------------------------------------------
        ALTER TABLE orders
            ADD COLUMN paid_cents     bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
            ADD COLUMN refunded_cents bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
            ADD COLUMN prepaid_cents  bigint NOT NULL DEFAULT 0;

        CREATE FUNCTION order_payment_status(total bigint, paid bigint, refunded bigint)
            RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
            SET search_path = pg_catalog
            AS $$
                SELECT CASE
                    WHEN refunded > 0 AND paid - refunded <= 0 THEN 'refunded'
                    WHEN paid - refunded = total THEN 'paid'
                    WHEN paid - refunded > total THEN 'overpaid'
                    WHEN paid - refunded <= 0 THEN 'unpaid'
                    ELSE 'partially_paid'
                END
            $$;

        CREATE FUNCTION orders_derive_payment_status() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog, public
            AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    -- A new order has no payments, whatever the inserting statement says.
                    NEW.paid_cents := 0;
                    NEW.refunded_cents := 0;
                    NEW.prepaid_cents := 0;
                END IF;
                NEW.payment_status := order_payment_status(NEW.total_cents, NEW.paid_cents, NEW.refunded_cents);
                RETURN NEW;
            END
            $$;
        CREATE TRIGGER orders_payment_status BEFORE INSERT OR UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION orders_derive_payment_status();
        UPDATE orders SET payment_status = order_payment_status(total_cents, paid_cents, refunded_cents);

        -- The application may update what it edits, never the payment columns or identities.
        REVOKE UPDATE ON orders FROM zentro_app;
        GRANT UPDATE (
            customer_id, customer_name, search_name, customer_phone, document_type, document_number,
            customer_email, department, province, district, ubigeo, address_line, address_reference,
            latitude, longitude, delivery_date, delivery_slot, channel, rider_id, carrier, status,
            delivery_outcome, delivery_attempts, collect_on_delivery, subtotal_cents, discount_cents,
            shipping_cents, total_cents, notes, status_reason, version, updated_at, status_changed_at
        ) ON orders TO zentro_app;

        -- --- settlements: a rider's cash handed over to the office -----------------------------
        ALTER TABLE organizations ADD COLUMN next_settlement_number bigint NOT NULL DEFAULT 1
            CHECK (next_settlement_number > 0);
        GRANT UPDATE (next_settlement_number) ON organizations TO zentro_app;

        CREATE TABLE settlements (
            id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id            uuid NOT NULL REFERENCES organizations (id),
            number            bigint NOT NULL CHECK (number > 0),
            rider_id          uuid NOT NULL REFERENCES users (id),
            currency          text NOT NULL CHECK (currency IN ('PEN', 'USD')),
            status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            handed_over_cents bigint NOT NULL DEFAULT 0 CHECK (handed_over_cents BETWEEN 0 AND 10000000000),
            notes             text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 1000),
            created_by        uuid NOT NULL REFERENCES users (id),
            created_at        timestamptz NOT NULL DEFAULT now(),
            closed_by         uuid REFERENCES users (id),
            closed_at         timestamptz,
            close_reason      text CHECK (char_length(close_reason) <= 500),
            version           integer NOT NULL DEFAULT 1 CHECK (version > 0),
            UNIQUE (org_id, number),
            CHECK ((status = 'closed') = (closed_at IS NOT NULL AND closed_by IS NOT NULL))
        );
        CREATE INDEX settlements_rider ON settlements (org_id, rider_id, created_at DESC);
        -- One open settlement per rider and currency: collections cannot be split between two.
        CREATE UNIQUE INDEX settlements_one_open ON settlements (org_id, rider_id, currency) WHERE status = 'open';
        ALTER TABLE settlements ENABLE ROW LEVEL SECURITY;
        ALTER TABLE settlements FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON settlements
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT ON settlements TO zentro_app;
        GRANT UPDATE (status, handed_over_cents, notes, closed_by, closed_at, close_reason, version)
            ON settlements TO zentro_app;

        -- The delivered cash-on-delivery orders a settlement accounts for, each at most once,
        -- with what the rider was to collect for it.
        CREATE TABLE settlement_orders (
            org_id        uuid NOT NULL REFERENCES organizations (id),
            settlement_id uuid NOT NULL REFERENCES settlements (id),
            order_id      uuid NOT NULL REFERENCES orders (id),
            expected_cents bigint NOT NULL CHECK (expected_cents >= 0),
            PRIMARY KEY (org_id, order_id)
        );
        CREATE INDEX settlement_orders_settlement ON settlement_orders (org_id, settlement_id);
        ALTER TABLE settlement_orders ENABLE ROW LEVEL SECURITY;
        ALTER TABLE settlement_orders FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON settlement_orders
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, DELETE ON settlement_orders TO zentro_app;

        -- --- payments ---------------------------------------------------------------------------
        CREATE TABLE payments (
            id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            org_id            uuid NOT NULL REFERENCES organizations (id),
            order_id          uuid NOT NULL REFERENCES orders (id),
            kind              text NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment', 'refund')),
            method            text NOT NULL CHECK (method IN ({_METHODS})),
            amount_cents      bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 10000000000),
            currency          text NOT NULL CHECK (currency IN ('PEN', 'USD')),
            operation_number  text CHECK (operation_number ~ '^[A-Z0-9]{{1,40}}$'),
            payer_name        text CHECK (char_length(payer_name) BETWEEN 1 AND 200),
            paid_at           timestamptz NOT NULL,
            notes             text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 1000),
            review_status     text NOT NULL DEFAULT 'submitted'
                              CHECK (review_status IN ('submitted', 'verified', 'rejected')),
            review_reason     text CHECK (char_length(review_reason) BETWEEN 1 AND 500),
            override_reason   text CHECK (char_length(override_reason) BETWEEN 1 AND 500),
            reviewed_by       uuid REFERENCES users (id),
            reviewed_at       timestamptz,
            duplicate_of      uuid REFERENCES payments (id) ON DELETE SET NULL,
            recorded_by       uuid NOT NULL REFERENCES users (id),
            collected_by      uuid REFERENCES users (id),
            settlement_id     uuid REFERENCES settlements (id),
            proof_key         text UNIQUE CHECK (proof_key ~ '^proofs/[0-9a-f-]{{36}}/[0-9a-f-]{{36}}[.](jpg|png|webp|pdf)$'),
            proof_content_type text CHECK (proof_content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
            proof_bytes       integer CHECK (proof_bytes > 0),
            proof_sha256      text CHECK (proof_sha256 ~ '^[0-9a-f]{{64}}$'),
            proof_original_sha256 text CHECK (proof_original_sha256 ~ '^[0-9a-f]{{64}}$'),
            proof_filename    text CHECK (char_length(proof_filename) BETWEEN 1 AND 100),
            proof_uploaded_at timestamptz,
            proof_duplicate_of uuid REFERENCES payments (id) ON DELETE SET NULL,
            version           integer NOT NULL DEFAULT 1 CHECK (version > 0),
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now(),
            CHECK ((review_status = 'rejected') = (review_reason IS NOT NULL)),
            CHECK ((review_status = 'submitted') = (reviewed_at IS NULL)),
            CHECK (kind = 'payment' OR (collected_by IS NULL AND review_status = 'verified')),
            CHECK (collected_by IS NOT NULL OR settlement_id IS NULL),
            CHECK (method IN ('yape', 'plin', 'bank_transfer') <= (operation_number IS NOT NULL)),
            CHECK ((proof_key IS NULL) = (proof_content_type IS NULL)),
            CHECK ((proof_key IS NULL) = (proof_sha256 IS NULL))
        );
        CREATE INDEX payments_order ON payments (org_id, order_id, created_at);
        CREATE INDEX payments_operation ON payments (org_id, method, operation_number)
            WHERE operation_number IS NOT NULL;
        CREATE INDEX payments_proof_hash ON payments (org_id, proof_original_sha256)
            WHERE proof_original_sha256 IS NOT NULL;
        CREATE INDEX payments_review ON payments (org_id, review_status, created_at DESC, id DESC);
        CREATE INDEX payments_collections ON payments (org_id, collected_by, settlement_id)
            WHERE collected_by IS NOT NULL;
        CREATE INDEX payments_settlement ON payments (org_id, settlement_id) WHERE settlement_id IS NOT NULL;
        ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
        ALTER TABLE payments FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON payments
            USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
        GRANT SELECT, INSERT, DELETE ON payments TO zentro_app;
        GRANT UPDATE (
            method, amount_cents, operation_number, payer_name, paid_at, notes, review_status,
            review_reason, override_reason, reviewed_by, reviewed_at, duplicate_of, settlement_id,
            proof_key, proof_content_type, proof_bytes, proof_sha256, proof_original_sha256,
            proof_filename, proof_uploaded_at, proof_duplicate_of, version, updated_at
        ) ON payments TO zentro_app;

        -- What one payment row adds to its order's sums, as (paid, refunded, prepaid).
        CREATE FUNCTION payment_contribution(p payments, OUT paid bigint, OUT refunded bigint, OUT prepaid bigint)
            LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public
            AS $$
                SELECT
                    CASE WHEN p.review_status = 'verified' AND p.kind = 'payment' THEN p.amount_cents ELSE 0 END,
                    CASE WHEN p.review_status = 'verified' AND p.kind = 'refund' THEN p.amount_cents ELSE 0 END,
                    CASE WHEN p.review_status <> 'verified' OR p.collected_by IS NOT NULL THEN 0
                         WHEN p.kind = 'refund' THEN -p.amount_cents ELSE p.amount_cents END
            $$;

        -- Runs as the schema owner: the application role cannot write the sums itself. Row
        -- security still applies (the policies are forced), so it only reaches the caller's
        -- organization.
        CREATE FUNCTION payments_apply_to_order() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
            AS $$
            DECLARE
                before_row record;
                after_row record;
                target uuid;
                target_org uuid;
            BEGIN
                IF TG_OP = 'UPDATE' AND (NEW.order_id <> OLD.order_id OR NEW.org_id <> OLD.org_id) THEN
                    RAISE EXCEPTION 'a payment cannot move to another order' USING ERRCODE = '42501';
                END IF;
                IF TG_OP = 'INSERT' THEN
                    SELECT 0::bigint AS paid, 0::bigint AS refunded, 0::bigint AS prepaid INTO before_row;
                ELSE
                    SELECT * INTO before_row FROM payment_contribution(OLD);
                END IF;
                IF TG_OP = 'DELETE' THEN
                    SELECT 0::bigint AS paid, 0::bigint AS refunded, 0::bigint AS prepaid INTO after_row;
                    target := OLD.order_id;
                    target_org := OLD.org_id;
                ELSE
                    SELECT * INTO after_row FROM payment_contribution(NEW);
                    target := NEW.order_id;
                    target_org := NEW.org_id;
                END IF;
                IF after_row.paid <> before_row.paid OR after_row.refunded <> before_row.refunded
                   OR after_row.prepaid <> before_row.prepaid THEN
                    UPDATE orders SET
                        paid_cents = paid_cents + after_row.paid - before_row.paid,
                        refunded_cents = refunded_cents + after_row.refunded - before_row.refunded,
                        prepaid_cents = prepaid_cents + after_row.prepaid - before_row.prepaid
                    WHERE org_id = target_org AND id = target;
                END IF;
                RETURN NULL;
            END
            $$;
        REVOKE ALL ON FUNCTION payments_apply_to_order() FROM PUBLIC;
        CREATE TRIGGER payments_sums AFTER INSERT OR UPDATE OR DELETE ON payments
            FOR EACH ROW EXECUTE FUNCTION payments_apply_to_order();

        -- --- anonymised customers (Law 29733 / GDPR erasure) ------------------------------------
        ALTER TABLE customers ADD COLUMN anonymised_at timestamptz;
        -- Placeholder phones for anonymised customers: +999 is no country's code, and the
        -- sequence keeps them unique per organization (customers are unique by phone).
        CREATE SEQUENCE anonymous_phone_seq;
        GRANT USAGE ON SEQUENCE anonymous_phone_seq TO zentro_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP SEQUENCE anonymous_phone_seq;
        ALTER TABLE customers DROP COLUMN anonymised_at;
        DROP TRIGGER payments_sums ON payments;
        DROP FUNCTION payments_apply_to_order();
        DROP FUNCTION payment_contribution(payments);
        DROP TABLE payments;
        DROP TABLE settlement_orders;
        DROP TABLE settlements;
        ALTER TABLE organizations DROP COLUMN next_settlement_number;
        DROP TRIGGER orders_payment_status ON orders;
        DROP FUNCTION orders_derive_payment_status();
        DROP FUNCTION order_payment_status(bigint, bigint, bigint);
        ALTER TABLE orders DROP COLUMN paid_cents, DROP COLUMN refunded_cents, DROP COLUMN prepaid_cents;
        GRANT UPDATE ON orders TO zentro_app;
        """
    )
