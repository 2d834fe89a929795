"""Anonymising a customer: the right to erasure (Peru's Law 29733, GDPR article 17).

A merchant must keep the fact of a sale (amounts, dates, what was sold, for accounting and tax)
but not who bought it once the person asks to be forgotten. Anonymising a customer replaces
their name, phone, document, email and street address, on the customer record and on every
order's snapshot, with placeholders that keep the database's rules (a phone under +999, which
is no country's code, unique per customer), removes the words and keys name search indexed,
files the orders for the duplicate check under the placeholder instead of the phone, clears payer
names, and removes every payment proof (screenshots show names and accounts) from storage,
through the same queued deletion as a deleted payment. District and ubigeo stay: they describe an
area, not a person. The audit event records counts, never the erased values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text

from lib import audit
from lib.audit import Target
from lib.db import TenantTx
from lib.http.errors import ApiError, object_not_found
from lib.http.schemas import Schema
from lib.orders import store
from lib.storage import deletions

ANONYMOUS_NAME = "Cliente anonimizado"
ANONYMOUS_ADDRESS = "Dirección anonimizada"

_LOCK = text("SELECT id, anonymised_at FROM customers WHERE org_id = :org AND id = :id FOR NO KEY UPDATE")
_CUSTOMER = text(
    """
    UPDATE customers SET name = :name, phone = '+999' || lpad(nextval('anonymous_phone_seq')::text, 11, '0'),
        document_type = 'FOREIGN', document_number = 'ANON' || upper(substr(md5(id::text), 1, 10)),
        email = NULL, anonymised_at = :now, updated_at = :now
    WHERE org_id = :org AND id = :id
    RETURNING phone, document_type, document_number
    """
)
_ORDERS = text(
    """
    UPDATE orders SET customer_name = :name, search_name = :search, customer_phone = :phone,
        document_type = :document_type, document_number = :document_number, customer_email = NULL,
        address_line = :address, address_reference = '', latitude = NULL, longitude = NULL, notes = '',
        version = version + 1, updated_at = :now
    WHERE org_id = :org AND customer_id = :id
    RETURNING id, created_at
    """
)
_PAYMENTS = text(
    """
    UPDATE payments p SET payer_name = NULL, proof_key = NULL, proof_content_type = NULL, proof_bytes = NULL,
        proof_sha256 = NULL, proof_original_sha256 = NULL, proof_filename = NULL, proof_uploaded_at = NULL,
        version = version + 1, updated_at = :now
    FROM (SELECT id, proof_key FROM payments WHERE org_id = :org AND order_id = ANY(:orders) FOR NO KEY UPDATE) old
    WHERE p.org_id = :org AND p.id = old.id
    RETURNING old.proof_key
    """
)


class Anonymised(Schema):
    id: uuid.UUID
    anonymised_at: datetime
    orders: int
    proofs_removed: int


def anonymise(tx: TenantTx, customer_id: uuid.UUID, now: datetime) -> tuple[Anonymised, list[str]]:
    """Anonymise in `tx`; returns the result and the proof keys to remove once it commits."""
    org = tx.ctx.org_id
    row = tx.conn.execute(_LOCK, {"org": org, "id": customer_id}).one_or_none()
    if row is None:
        raise object_not_found("customer", customer_id, tx.ctx.actor.user_id)
    if row.anonymised_at is not None:
        raise ApiError("customer_anonymised", 409)
    store.unfile_customer_for_duplicates(tx, customer_id)  # its phones, before the orders lose them
    placeholder: Any = tx.conn.execute(
        _CUSTOMER, {"org": org, "id": customer_id, "name": ANONYMOUS_NAME, "now": now}
    ).one()
    orders = [
        (r.id, r.created_at)
        for r in tx.conn.execute(
            _ORDERS,
            {
                "org": org,
                "id": customer_id,
                "name": ANONYMOUS_NAME,
                "search": "",
                "phone": placeholder.phone,
                "document_type": placeholder.document_type,
                "document_number": placeholder.document_number,
                "address": ANONYMOUS_ADDRESS,
                "now": now,
            },
        )
    ]
    store.file_customer_for_duplicates(tx, customer_id)
    order_ids = [order_id for order_id, _ in orders]
    keys: list[str] = []
    if order_ids:
        store.delete_name_words(tx, orders)
        keys = [
            r.proof_key
            for r in tx.conn.execute(_PAYMENTS, {"org": org, "orders": order_ids, "now": now})
            if r.proof_key
        ]
    for key in keys:
        deletions.schedule_deletion(tx, key, now)
    audit.record(
        tx,
        "customer.anonymised",
        Target("customer", customer_id),
        after={"orders": len(order_ids), "proofs_removed": len(keys)},
    )
    return Anonymised(id=customer_id, anonymised_at=now, orders=len(order_ids), proofs_removed=len(keys)), keys
