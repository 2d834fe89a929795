"""/api/payments/{id}/proof: PUT a proof file (multipart, field `file`); GET it back as a download.

The download is private data served to the browser: an attachment (never rendered inline), with
the type its content was verified as, nosniff, and a CSP that sandboxes it even if opened.
"""

from datetime import UTC, datetime

from lib import bursts
from lib.http import PRIVATE_DOWNLOAD_HEADERS, Call, Operation, Reply, Stream, function_app, requires, tagged
from lib.payments import proofs
from lib.payments.schemas import Payment
from lib.permissions import Permission


def upload(call: Call[bytes, None]) -> Reply:
    ctx, _ = call.require_tenant()
    now = datetime.now(UTC)
    bursts.spend(ctx, bursts.PROOF_UPLOAD, now)
    content_type = call.headers.get("content-type", "")
    payment = proofs.upload(ctx, call.path_uuid(), call.if_match, call.body, content_type, now)
    return tagged(payment)


def download(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    proof = proofs.download(ctx, call.path_uuid())
    body = Stream(iter((proof.data,)), media_type=proof.content_type, filename=proof.filename)
    return Reply(body=body, headers={**PRIVATE_DOWNLOAD_HEADERS, "Content-Length": str(len(proof.data))})


app = function_app(
    "/api/payments/{id}/proof",
    Operation(
        "PUT",
        upload,
        access=requires(Permission.PAYMENTS_RECORD),
        raw_body=("multipart/form-data",),
        response=Payment,
        if_match=True,
        errors=(413, 415, 429),
        summary="Upload or replace a payment's proof (JPEG, PNG, WebP or PDF)",
    ),
    Operation(
        "GET",
        download,
        access=requires(Permission.PAYMENTS_READ),
        streams="application/octet-stream",
        summary="Download a payment's proof",
    ),
    max_body_bytes=proofs.UPLOAD_BODY_LIMIT,
)
