"""Uploading a payment proof and serving it back, only to those allowed to see it.

An upload is checked before anything is kept: the caller must be allowed to change the payment
(and send its current version), the file must fit the limit (413), and its content must prove to
be a JPEG, PNG, WebP or PDF that agrees with its name (415 otherwise; lib.payments.proof_files).
Images are re-encoded from their pixels, so location data and anything hidden in the file stay
behind. Only then is the file stored, under a key the server makes, and recorded on the payment
in one transaction; if that transaction fails, the stored file is removed again.

Proofs are served only through `download`, after the same tenant and role checks as the payment
itself, from private storage: the storage URL never reaches a client.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from lib import audit
from lib.audit import Target
from lib.config import settings
from lib.db import tenant_transaction
from lib.db.versioned import require_version
from lib.http.errors import ApiError, ErrorDetail
from lib.http.multipart import parse_multipart
from lib.payments import receipts, service
from lib.payments.proof_files import ProofRefused, clean_proof, safe_download_name
from lib.payments.schemas import Payment
from lib.storage import deletions
from lib.storage.objects import ObjectNotFound, StorageError
from lib.storage.selection import object_store
from lib.tenancy import TenantContext

# Vercel refuses request bodies over 4.5 MB before a function runs; a proof must fit well under.
PROOF_MAX_BYTES = 4 * 1024 * 1024
# The multipart envelope around the file: boundaries and part headers.
UPLOAD_BODY_LIMIT = PROOF_MAX_BYTES + 16 * 1024
FILE_FIELD = "file"

_log = logging.getLogger("zentro.proofs")


def _new_key(org_id: uuid.UUID, extension: str) -> str:
    """`proofs/<organization>/<random uuid>.<ext>`: made here, never from a client's file name,
    with the extension of the type the content proved to be."""
    return f"proofs/{org_id}/{uuid.uuid4()}.{extension}"


def upload(
    ctx: TenantContext, payment_id: uuid.UUID, if_match: int | None, body: bytes, content_type: str, now: datetime
) -> Payment:
    parts = parse_multipart(body, content_type)
    unknown = sorted(set(parts) - {FILE_FIELD})
    if unknown or FILE_FIELD not in parts:
        details = [ErrorDetail(field=f"$.{name}", reason="unknown field") for name in unknown]
        if FILE_FIELD not in parts:
            details.append(ErrorDetail(field=f"$.{FILE_FIELD}", reason="the proof file is missing"))
        raise ApiError("validation_failed", 422, details=details)
    upload = parts[FILE_FIELD]
    if len(upload.data) > PROOF_MAX_BYTES:
        raise ApiError("payload_too_large", 413, params={"limit": PROOF_MAX_BYTES})

    # May this caller change this payment? Asked before the work of decoding and storing.
    with tenant_transaction(ctx) as tx:
        _, row = service.lock_payment(tx, payment_id)
        service.check_changeable(tx, row)
        require_version(row.version, if_match)

    try:
        clean = clean_proof(upload.data, upload.filename, upload.content_type)
    except ProofRefused as refused:
        raise ApiError(refused.code, refused.status) from None

    store = object_store(settings())
    key = _new_key(ctx.org_id, clean.extension)
    try:
        store.put(key, clean.data, clean.content_type)
    except StorageError:
        raise ApiError("storage_unavailable", 503, headers={"Retry-After": "30"}) from None

    replaced: str | None = None
    try:
        with tenant_transaction(ctx) as tx:
            order, row = service.lock_payment(tx, payment_id)
            service.check_changeable(tx, row)
            require_version(row.version, if_match)
            same_file = receipts.same_file(tx, row.id, clean.original_sha256)
            service.update(
                tx,
                row,
                {
                    "proof_key": key,
                    "proof_content_type": clean.content_type,
                    "proof_bytes": len(clean.data),
                    "proof_sha256": clean.sha256,
                    "proof_original_sha256": clean.original_sha256,
                    "proof_filename": safe_download_name(upload.filename, clean.extension),
                    "proof_uploaded_at": now,
                    "proof_duplicate_of": same_file,
                },
                now,
            )
            if row.proof_key is not None:
                replaced = row.proof_key
                deletions.schedule_deletion(tx, row.proof_key, now)
            audit.record(
                tx,
                "payment.proof_uploaded",
                Target("order", order.id),
                before={"payment_id": str(row.id), "proof_sha256": row.proof_sha256},
                after={
                    "payment_id": str(row.id),
                    "proof_sha256": clean.sha256,
                    "content_type": clean.content_type,
                    "bytes": len(clean.data),
                    "same_file_as": str(same_file) if same_file else None,
                },
            )
    except BaseException:
        try:
            store.delete(key)
        except StorageError:  # pragma: no cover - logged; an unreferenced private file remains
            _log.error("proof_orphaned", extra={"key": key})
        raise
    if replaced is not None:
        deletions.delete_now([replaced])
    return service.detail(ctx, payment_id)


@dataclass(frozen=True, slots=True)
class ProofFile:
    data: bytes
    content_type: str
    filename: str


def download(ctx: TenantContext, payment_id: uuid.UUID) -> ProofFile:
    """The proof's bytes, with the type its content was verified as when it was uploaded; audited."""
    row = service.visible(ctx, payment_id)  # the tenant and role checks of the payment itself
    if row.proof_key is None:
        raise ApiError("proof_missing", 404)
    try:
        stored = object_store(settings()).get(row.proof_key)
    except ObjectNotFound:
        _log.error("proof_lost", extra={"payment_id": str(payment_id)})
        raise ApiError("proof_missing", 404) from None
    except StorageError:
        raise ApiError("storage_unavailable", 503, headers={"Retry-After": "30"}) from None
    # Who saw which proof (a payer's bank screenshot): audited like an export, before it leaves.
    with tenant_transaction(ctx) as tx:
        audit.record(
            tx, "payment.proof_downloaded", Target("payment", payment_id), after={"order_id": str(row.order_id)}
        )
    return ProofFile(data=stored.data, content_type=row.proof_content_type, filename=row.proof_filename)
