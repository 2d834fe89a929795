"""Key rotation end to end: every sealed column is known, every secret stays readable while the
cron reseals batch by batch, progress is recorded, the old key can then go; and a database dump
holds no secret in clear."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest

from lib.crypto import KeyRing
from tests.api.zeus.conftest import PASSWORD, ZeusShop
from tests.conftest import Database, libpq

SECRET_MARKER = "sello-de-prueba-" + uuid.uuid4().hex


def _use_ring(value: str) -> None:
    from lib.config import settings
    from lib.key_ring import current_key_ring

    os.environ["ENCRYPTION_KEYS"] = value
    settings.cache_clear()
    current_key_ring.cache_clear()


@pytest.fixture
def rings() -> Iterator[tuple[str, str]]:
    """(old, new) ring values; afterwards everything is resealed back under the session's key."""
    from lib.key_rotation import rotate

    old = os.environ["ENCRYPTION_KEYS"]
    new_key = KeyRing.generate_value(2)
    try:
        yield old, new_key
    finally:
        _use_ring(f"{old},{new_key}")
        rotate(datetime.now(UTC))
        _use_ring(old)


@pytest.fixture
def secrets_of_every_kind(shop: ZeusShop) -> dict[str, Any]:
    """An MFA seed, Zeus credentials and a queued job payload, all sealed under the first key."""
    from lib import jobs
    from lib.db import tenant_transaction
    from lib.tenancy import Actor, RequestMeta, TenantContext

    begun = shop["admin"].post("/api/auth/mfa")
    seed = begun.json()["secret"]
    assert shop["admin"].put("/api/auth/mfa", json={"code": pyotp.TOTP(seed).now()}).status_code == 200
    assert shop.connect("https://zeus.example-courier.pe").status_code == 201
    ctx = TenantContext(shop.org, Actor.system(), RequestMeta(request_id="t", client_ip=None, user_agent=None))
    with tenant_transaction(ctx) as tx:
        job_id = jobs.enqueue(tx, "test.rotation", {"marker": SECRET_MARKER}, datetime(2030, 1, 1, tzinfo=UTC))
    return {"seed": seed, "job_id": job_id, "ctx": ctx}


def _all_readable(shop: ZeusShop, found: dict[str, Any]) -> None:
    """Each secret, opened through the code that uses it."""
    import msgspec

    from lib import integrations
    from lib.auth.credentials import open_mfa_secret
    from lib.db import tenant_transaction
    from lib.key_ring import current_key_ring
    from lib.sealed_columns import JOB_PAYLOAD

    with tenant_transaction(found["ctx"]) as tx:
        user_id = shop.accounts["admin"].id
        sealed_seed = tx.conn.exec_driver_sql(
            "SELECT mfa_secret FROM users WHERE id = %(id)s", {"id": user_id}
        ).scalar_one()
        assert open_mfa_secret(tx, user_id, bytes(sealed_seed)) == found["seed"]
        opened = integrations.credentials(tx, "zeus")
        assert opened is not None and opened[0].password == PASSWORD
        payload = tx.conn.exec_driver_sql(
            "SELECT payload FROM jobs WHERE id = %(id)s", {"id": found["job_id"]}
        ).scalar_one()
        context = JOB_PAYLOAD.context(shop.org, found["job_id"])
        assert msgspec.json.decode(current_key_ring().open(bytes(payload), context)) == {"marker": SECRET_MARKER}


def _key_ids_of_this_org(shop: ZeusShop) -> set[int]:
    with shop.database.connect("superuser") as conn:
        rows = conn.execute(
            """SELECT substring(mfa_secret from 2 for 4) FROM users WHERE org_id = %(org)s AND mfa_secret IS NOT NULL
               UNION ALL SELECT substring(credentials from 2 for 4) FROM integrations WHERE org_id = %(org)s
               UNION ALL SELECT substring(payload from 2 for 4) FROM jobs
                         WHERE org_id = %(org)s AND payload IS NOT NULL""",
            {"org": shop.org},
        ).fetchall()
    return {int.from_bytes(bytes(value), "big") for (value,) in rows}


def test_rotation_keeps_every_secret_readable_throughout_and_records_progress(
    shop: ZeusShop, secrets_of_every_kind: dict[str, Any], rings: tuple[str, str], database: Database
) -> None:
    from lib.key_rotation import rotate

    old, new = rings
    assert _key_ids_of_this_org(shop) == {1}
    _use_ring(f"{new},{old}")  # step 1: the new key seals, the old one still opens
    _all_readable(shop, secrets_of_every_kind)

    remaining: list[int] = []
    for _ in range(10_000):  # step 2: the cron, one value per batch, checking after each
        report = rotate(datetime.now(UTC), batch_size=1, max_batches=1)
        _all_readable(shop, secrets_of_every_kind)
        remaining.append(report.remaining)
        if report.remaining == 0:
            break
    assert remaining == sorted(remaining, reverse=True) and remaining[-1] == 0 and len(remaining) >= 3
    assert report.old_keys_in_use == [] and report.completed_at is not None
    assert report.total_resealed >= 3 and report.unopenable == 0
    assert _key_ids_of_this_org(shop) == {2}
    with database.connect("superuser") as conn:
        progress = conn.execute(
            "SELECT resealed, remaining, completed_at FROM key_rotations WHERE key_id = 2"
        ).fetchone()
    assert progress is not None and progress[0] == report.total_resealed and progress[1] == 0 and progress[2]

    _use_ring(new)  # step 3: the old key goes; everything still opens
    _all_readable(shop, secrets_of_every_kind)
    assert rotate(datetime.now(UTC)).resealed == 0


def test_without_the_new_ring_the_resealed_values_do_not_open(
    shop: ZeusShop, secrets_of_every_kind: dict[str, Any], rings: tuple[str, str]
) -> None:
    """The negative case under the same setup: after rotating, a ring without the new key fails."""
    from lib.crypto import SealError
    from lib.key_rotation import rotate

    old, new = rings
    _use_ring(f"{new},{old}")
    rotate(datetime.now(UTC))
    _use_ring(old)
    with pytest.raises(SealError):
        _all_readable(shop, secrets_of_every_kind)
    _use_ring(f"{new},{old}")
    _all_readable(shop, secrets_of_every_kind)


def test_a_value_that_does_not_open_is_counted_and_never_rewritten(
    shop: ZeusShop, secrets_of_every_kind: dict[str, Any], rings: tuple[str, str]
) -> None:
    from lib.key_rotation import rotate

    old, new = rings
    with shop.database.connect("superuser") as conn:  # a credential moved in from another row
        conn.execute(
            "UPDATE integrations SET credentials = (SELECT payload FROM jobs WHERE id = %s) WHERE org_id = %s",
            (secrets_of_every_kind["job_id"], shop.org),
        )
        before = conn.execute("SELECT credentials FROM integrations WHERE org_id = %s", (shop.org,)).fetchone()
    _use_ring(f"{new},{old}")
    report = rotate(datetime.now(UTC))
    assert report.unopenable == 1 and report.remaining == 1 and report.old_keys_in_use == [1]
    with shop.database.connect("superuser") as conn:
        after = conn.execute("SELECT credentials FROM integrations WHERE org_id = %s", (shop.org,)).fetchone()
        conn.execute("DELETE FROM integrations WHERE org_id = %s", (shop.org,))
    assert after == before


def test_every_bytea_column_is_either_sealed_or_a_known_hash() -> None:
    """A new sealed column must join lib/sealed_columns (and the migration's SQL), or rotation
    would leave it behind; a new hash column must be added here knowingly."""
    from lib.db import unscoped_transaction
    from lib.sealed_columns import SEALED_COLUMNS

    hashes = {
        "sessions.token_hash",
        "auth_tokens.token_hash",
        "mfa_recovery_codes.code_hash",
        "auth_throttle.key",
    }
    # Sealed, but kept a minute (a day at most) and never rotated: lib/auth/reset_requests says why.
    short_lived = {"password_reset_requests.email"}
    with unscoped_transaction() as conn:
        found = {
            f"{table}.{column}"
            for table, column in conn.exec_driver_sql(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = 'bytea'"
            )
        }
        kinds = {
            row[0] for row in conn.exec_driver_sql("SELECT DISTINCT kind FROM sealed_values_pending('{1}', 1000000)")
        }
    sealed = {column.kind for column in SEALED_COLUMNS}
    assert found == sealed | hashes | short_lived
    assert kinds <= sealed


def test_a_database_dump_holds_no_secret_in_clear(
    shop: ZeusShop, secrets_of_every_kind: dict[str, Any], database: Database, tmp_path: Path
) -> None:
    import pgserver  # type: ignore[import-untyped]

    pg_dump = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    dump = tmp_path / "dump.sql"
    subprocess.run(
        [str(pg_dump), "--data-only", "--no-owner", "--file", str(dump), libpq(database.superuser_url)], check=True
    )
    text = dump.read_text(errors="replace")
    # The dump has this organization's data (so the absences below mean something)...
    assert "https://zeus.example-courier.pe" in text and str(shop.accounts["admin"].email) in text
    # ...and none of its secrets: not the TOTP seed, the Zeus password or username, the job payload.
    for secret in (secrets_of_every_kind["seed"], PASSWORD, "tienda-demo-01", SECRET_MARKER):
        assert secret not in text


def test_the_cron_reports_progress_and_needs_the_cron_secret(client: Any) -> None:
    assert client.get("/api/cron/key_rotation").status_code == 401
    response = client.get("/api/cron/key_rotation", headers={"Authorization": f"Bearer {os.environ['CRON_SECRET']}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["primary_key_id"] == 1 and body["old_keys_in_use"] == [] and body["remaining"] == 0
