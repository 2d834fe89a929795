"""Payment rows to the shapes a role may see."""

from __future__ import annotations

from typing import Any

from lib.payments.schemas import Collection, Payment, ProofInfo

_COLUMNS = (
    "id", "order_id", "kind", "method", "amount_cents", "currency", "operation_number", "payer_name", "paid_at",
    "notes", "review_status", "review_reason", "override_reason", "reviewed_by", "reviewed_at", "duplicate_of",
    "recorded_by", "collected_by", "settlement_id", "proof_key", "proof_content_type", "proof_bytes",
    "proof_sha256", "proof_original_sha256", "proof_filename", "proof_uploaded_at", "proof_duplicate_of",
    "version", "created_at", "updated_at",
)  # fmt: skip
# Every column a payment view or a rule reads: in a query where `p` is payments, and as an
# INSERT or UPDATE returns them (so a change's "after" needs no second read).
PAYMENT_COLUMNS = ", ".join(f"p.{name}" for name in _COLUMNS)
RETURNED_COLUMNS = ", ".join(_COLUMNS)


def payment(row: Any) -> Payment:
    proof = None
    if row.proof_key is not None:
        proof = ProofInfo(
            content_type=row.proof_content_type,
            bytes=row.proof_bytes,
            filename=row.proof_filename,
            uploaded_at=row.proof_uploaded_at,
            duplicate_of=row.proof_duplicate_of,
        )
    return Payment(
        id=row.id,
        order_id=row.order_id,
        kind=row.kind,
        method=row.method,
        amount_cents=row.amount_cents,
        currency=row.currency,
        operation_number=row.operation_number,
        payer_name=row.payer_name,
        paid_at=row.paid_at,
        notes=row.notes,
        review_status=row.review_status,
        review_reason=row.review_reason,
        override_reason=row.override_reason,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        duplicate_of=row.duplicate_of,
        recorded_by=row.recorded_by,
        collected_by=row.collected_by,
        settlement_id=row.settlement_id,
        proof=proof,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def collection(row: Any) -> Collection:
    return Collection(
        id=row.id,
        order_id=row.order_id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        method=row.method,
        operation_number=row.operation_number,
        collected_at=row.paid_at,
        version=row.version,
    )


def audit_snapshot(row: Any) -> dict[str, Any]:
    """What the audit trail keeps of a payment, before or after a change."""
    return {
        "payment_id": str(row.id),
        "kind": row.kind,
        "method": row.method,
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "operation_number": row.operation_number,
        "payer_name": row.payer_name,
        "paid_at": row.paid_at,
        "review_status": row.review_status,
        "proof_sha256": row.proof_sha256,
        "collected_by": str(row.collected_by) if row.collected_by else None,
        "settlement_id": str(row.settlement_id) if row.settlement_id else None,
    }
