"""Payment proofs: hostile uploads refused with nothing stored, metadata stripped, safe serving."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from lib.payments.proofs import PROOF_MAX_BYTES
from tests.api.payments.conftest import PaymentShop, stored_files
from tests.proof_samples import gps_jpeg_bytes, jpeg_bytes, png_bytes

pytestmark = pytest.mark.usefixtures("database")

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>fetch('/api/users')</script></body></html>"
PDF_WITH_JS = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def _hostile() -> list[tuple[str, bytes, str, str, int]]:
    """(case, bytes, file name, declared type, expected status)"""
    return [
        ("svg named png", SVG, "comprobante.png", "image/png", 415),
        ("svg as svg", SVG, "comprobante.svg", "image/svg+xml", 415),
        ("html named jpg", HTML, "yape.jpg", "image/jpeg", 415),
        ("polyglot: jpeg + html, named html", jpeg_bytes() + HTML, "yape.html", "text/html", 415),
        ("png named jpg", png_bytes(), "yape.jpg", "image/jpeg", 415),
        ("jpeg declared as png", jpeg_bytes(), "yape", "image/png", 415),
        ("pdf with javascript", PDF_WITH_JS, "voucher.pdf", "application/pdf", 415),
        ("empty", b"", "yape.jpg", "image/jpeg", 415),
        ("truncated jpeg", jpeg_bytes()[:200], "yape.jpg", "image/jpeg", 422),
    ]


@pytest.mark.parametrize("case", range(len(_hostile())), ids=[c[0] for c in _hostile()])
def test_hostile_uploads_are_refused_and_nothing_is_stored(shop: PaymentShop, case: int) -> None:
    _, data, filename, declared, status = _hostile()[case]
    payment = shop.paid(shop.capture())
    files_before = stored_files(shop)
    response = shop.upload(payment, data, filename, declared)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"].startswith("proof_")
    assert stored_files(shop) == files_before
    after = shop["seller"].get(f"/api/payments/{payment['id']}").json()
    assert after["proof"] is None and after["version"] == payment["version"]
    # The same payment takes a real screenshot (the refusal was about the file).
    assert shop.upload(payment, jpeg_bytes()).status_code == 200


def test_one_byte_over_the_limit_is_413(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    files_before = stored_files(shop)
    too_big = jpeg_bytes() + b"\0" * (PROOF_MAX_BYTES + 1 - len(jpeg_bytes()))
    response = shop.upload(payment, too_big)
    assert response.status_code == 413
    assert stored_files(shop) == files_before
    at_limit_ok = shop.upload(payment, jpeg_bytes())
    assert at_limit_ok.status_code == 200


def test_location_data_is_stripped_from_a_phone_photo(shop: PaymentShop) -> None:
    original = gps_jpeg_bytes()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it does carry GPS tags
    payment = shop.paid(shop.capture())
    assert shop.upload(payment, original, "IMG_2041.JPG").status_code == 200
    served = shop["seller"].get(f"/api/payments/{payment['id']}/proof")
    assert served.status_code == 200
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG"
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    assert b"Exif" not in served.content[:4096]
    [stored] = stored_files(shop)[-1:]
    assert b"Exif" not in stored.read_bytes()[:4096]


def test_a_proof_is_served_as_a_sandboxed_attachment_of_its_verified_type(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    response = shop.upload(payment, png_bytes(), "../../../etc/passwd.png", "image/png")
    assert response.status_code == 200, response.text
    served = shop["supervisor"].get(f"/api/payments/{payment['id']}/proof")
    assert served.status_code == 200
    headers = served.headers
    assert headers["content-type"] == "image/png"
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment; filename=") and ".." not in disposition and "/" not in disposition
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("sandbox")
    assert "no-store" in headers["cache-control"]
    # The key is the server's: no client file name in storage, and no storage URL in any answer.
    [stored] = [p for p in stored_files(shop) if p.suffix == ".png"][-1:]
    assert "passwd" not in str(stored)
    view = shop["supervisor"].get(f"/api/payments/{payment['id']}").json()
    assert "proofs/" not in str(view) and "blob" not in str(view).lower()


def test_every_proof_download_is_audited_with_who_and_which(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    assert shop.upload(payment, png_bytes(), "yape.png", "image/png").status_code == 200
    assert shop["logistics"].get(f"/api/payments/{payment['id']}/proof").status_code == 403  # refused: not audited
    assert shop.audit("payment.proof_downloaded") == []
    assert shop["supervisor"].get(f"/api/payments/{payment['id']}/proof").status_code == 200
    [event] = shop.audit("payment.proof_downloaded")
    assert (event["target_type"], event["target_id"]) == ("payment", payment["id"])
    assert event["after"] == {"order_id": payment["order_id"]}
    with shop.database.connect("superuser") as conn:
        [[actor, role]] = conn.execute(
            "SELECT actor_user_id, actor_role FROM audit_events WHERE org_id = %s AND action = 'payment.proof_downloaded'",
            (shop.org,),
        ).fetchall()
    assert (actor, role) == (shop.accounts["supervisor"].id, "SUPERVISOR")


def test_the_same_screenshot_for_two_payments_is_flagged(shop: PaymentShop) -> None:
    first = shop.paid(shop.capture(), operation_number="111")
    second = shop.paid(shop.capture(), operation_number="222")
    assert shop.upload(first, jpeg_bytes()).status_code == 200
    uploaded = shop.upload(second, jpeg_bytes())
    assert uploaded.json()["proof"]["duplicate_of"] == first["id"]
    assert shop.review(uploaded.json()).status_code == 409


def test_deleting_a_payment_removes_its_proof(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    before = set(stored_files(shop))
    uploaded = shop.upload(payment, jpeg_bytes()).json()
    [added] = set(stored_files(shop)) - before
    response = shop["seller"].delete(f"/api/payments/{payment['id']}", headers={"If-Match": f'"{uploaded["version"]}"'})
    assert response.status_code == 204
    assert not added.exists()
    assert shop["seller"].get(f"/api/payments/{payment['id']}").status_code == 404


def test_replacing_a_proof_removes_the_old_file(shop: PaymentShop) -> None:
    payment = shop.paid(shop.capture())
    before = set(stored_files(shop))
    first = shop.upload(payment, jpeg_bytes()).json()
    [old] = set(stored_files(shop)) - before
    second = shop.upload(first, png_bytes(), "yape.png", "image/png")
    assert second.status_code == 200
    assert not old.exists()
    assert second.json()["proof"]["content_type"] == "image/png"


def test_anonymising_a_customer_removes_proofs_and_personal_data(shop: PaymentShop) -> None:
    order = shop.capture()
    payment = shop.paid(order, payer_name="María Huamán")
    before = set(stored_files(shop))
    shop.upload(payment, jpeg_bytes())
    [added] = set(stored_files(shop)) - before
    customer_id = shop.order(order)["customer"]["id"]
    assert shop["supervisor"].post(f"/api/customers/{customer_id}/anonymise").status_code == 403
    assert added.exists()
    response = shop["admin"].post(f"/api/customers/{customer_id}/anonymise")
    assert response.status_code == 200, response.text
    assert response.json()["proofs_removed"] == 1
    assert not added.exists()
    view = shop.order(order)
    assert "Huam" not in str(view) and "987654321" not in str(view) and "Larco" not in str(view)
    assert view["total_cents"] > 0  # the sale itself stays
    assert shop["admin"].get(f"/api/payments/{payment['id']}").json()["payer_name"] is None
    assert shop["admin"].get("/api/orders?q=Huaman").json()["orders"] == []
    assert shop["admin"].post(f"/api/customers/{customer_id}/anonymise").status_code == 409


def test_a_failed_removal_is_retried_by_the_outbox_cron(shop: PaymentShop, monkeypatch: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from lib.jobs import RunClock
    from lib.storage import deletions
    from lib.storage.objects import StorageError

    payment = shop.paid(shop.capture())
    before = set(stored_files(shop))
    uploaded = shop.upload(payment, jpeg_bytes()).json()
    [added] = set(stored_files(shop)) - before

    class Down:
        def delete(self, key: str) -> None:
            raise StorageError("provider down")

    monkeypatch.setattr(deletions, "object_store", lambda settings: Down())
    response = shop["seller"].delete(f"/api/payments/{payment['id']}", headers={"If-Match": f'"{uploaded["version"]}"'})
    assert response.status_code == 204
    assert added.exists()  # storage was down: the job keeps the removal
    monkeypatch.undo()
    report = deletions.drain_deletions(RunClock.start(datetime.now(UTC) + timedelta(minutes=10), 3600.0), limit=100_000)
    assert report.done >= 1
    assert not added.exists()
