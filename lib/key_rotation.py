"""Key rotation: reseal every sealed value under the primary key, in batches, with progress.

Rotation without downtime (README, "Rotating the encryption key"):

1. put a new key first in ENCRYPTION_KEYS and keep the old ones listed; deploy. New values are
   sealed with the new key at once, and every old value still opens by the id in its header;
2. the key-rotation cron (`/api/cron/key_rotation`) reseals old values a batch at a time, each
   batch in one transaction per organization with the rows locked, so a value written meanwhile
   is never overwritten with an older one; each run records its progress in `key_rotations`;
3. when `sealed_key_usage` shows no value under an old key (the cron's `old_keys_in_use` is empty,
   and `key_rotations.completed_at` is set), drop the old key from ENCRYPTION_KEYS.

A value that names a key in the ring but does not open (tampered or moved) is never rewritten:
it is counted as `unopenable` and logged with its table and row id, for a person to look at.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from lib.crypto import KeyRing, SealError
from lib.db import tenant_transaction, unscoped_transaction
from lib.key_ring import current_key_ring
from lib.sealed_columns import BY_KIND, SealedColumn
from lib.tenancy import Actor, RequestMeta, TenantContext

_log = logging.getLogger("zentro.key_rotation")

BATCH_SIZE = 200
TIME_BUDGET_SECONDS = 40.0

_PENDING = text("SELECT kind, org_id, record_id FROM sealed_values_pending(CAST(:key_ids AS bigint[]), :limit)")
_USAGE = text("SELECT kind, key_id, sealed_values FROM sealed_key_usage() ORDER BY kind, key_id")
_PROGRESS = text(
    """
    INSERT INTO key_rotations AS r (key_id, started_at, last_run_at, resealed, remaining, completed_at)
    VALUES (:key_id, :now, :now, :resealed, :remaining, CASE WHEN :remaining = 0 THEN CAST(:now AS timestamptz) END)
    ON CONFLICT (key_id) DO UPDATE SET
        last_run_at = EXCLUDED.last_run_at,
        resealed = r.resealed + EXCLUDED.resealed,
        remaining = EXCLUDED.remaining,
        completed_at = CASE WHEN EXCLUDED.remaining = 0 THEN coalesce(r.completed_at, EXCLUDED.last_run_at) END
    RETURNING started_at, resealed, completed_at
    """
)


@dataclass(frozen=True, slots=True)
class KeyUsage:
    kind: str
    key_id: int
    sealed_values: int


@dataclass
class RotationReport:
    primary_key_id: int
    resealed: int = 0
    unopenable: int = 0
    remaining: int = 0
    total_resealed: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    usage: list[KeyUsage] = field(default_factory=list)

    @property
    def old_keys_in_use(self) -> list[int]:
        """Key ids other than the primary that some value still needs: not yet removable."""
        return sorted({u.key_id for u in self.usage if u.key_id != self.primary_key_id})


def key_usage() -> list[KeyUsage]:
    with unscoped_transaction() as conn:
        return [KeyUsage(row.kind, int(row.key_id), int(row.sealed_values)) for row in conn.execute(_USAGE)]


def rotate(
    now: datetime,
    *,
    ring: KeyRing | None = None,
    batch_size: int = BATCH_SIZE,
    time_budget_seconds: float = TIME_BUDGET_SECONDS,
    max_batches: int | None = None,
) -> RotationReport:
    """Reseal values under the ring's old keys until none is left, the time budget is spent, or
    `max_batches` batches are done."""
    ring = ring or current_key_ring()
    report = RotationReport(primary_key_id=ring.primary_key_id)
    old_ids = [key_id for key_id in ring.key_ids if key_id != ring.primary_key_id]
    deadline = time.monotonic() + time_budget_seconds
    batches = 0
    failed: set[tuple[str, uuid.UUID]] = set()
    while old_ids and time.monotonic() < deadline and (max_batches is None or batches < max_batches):
        batches += 1
        with unscoped_transaction() as conn:
            pending = conn.execute(_PENDING, {"key_ids": old_ids, "limit": batch_size}).all()
        if not pending:
            break
        resealed, unopenable = _reseal_batch(ring, pending)
        report.resealed += resealed
        failed |= unopenable
        report.unopenable = len(failed)
        if resealed == 0:  # only values that do not open are left in this batch: stop, they are logged
            break
    report.usage = key_usage()
    report.remaining = sum(u.sealed_values for u in report.usage if u.key_id != ring.primary_key_id)
    with unscoped_transaction() as conn:
        progress = conn.execute(
            _PROGRESS,
            {"key_id": ring.primary_key_id, "now": now, "resealed": report.resealed, "remaining": report.remaining},
        ).one()
    report.total_resealed = int(progress.resealed)
    report.started_at = progress.started_at
    report.completed_at = progress.completed_at
    _log.info(
        "key_rotation",
        extra={
            "primary_key_id": ring.primary_key_id,
            "resealed": report.resealed,
            "unopenable": report.unopenable,
            "remaining": report.remaining,
        },
    )
    return report


def _reseal_batch(ring: KeyRing, pending: Sequence[Any]) -> tuple[int, set[tuple[str, uuid.UUID]]]:
    groups: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = defaultdict(list)
    for row in pending:
        groups[(row.org_id, row.kind)].append(row.record_id)
    resealed = 0
    unopenable: set[tuple[str, uuid.UUID]] = set()
    meta = RequestMeta(request_id="key-rotation", client_ip=None, user_agent=None)
    for (org_id, kind), ids in groups.items():
        column = BY_KIND[kind]
        ctx = TenantContext(org_id=org_id, actor=Actor.system(), request=meta)
        with tenant_transaction(ctx) as tx:
            rows = tx.conn.execute(_select(column), {"org": org_id, "ids": ids}).all()
            updates = []
            for row in rows:
                value = bytes(row.value)
                try:
                    if not ring.needs_reseal(value):
                        continue  # rewritten under the primary since the batch was listed
                    updates.append(
                        {"org": org_id, "id": row.id, "value": ring.reseal(value, column.context(org_id, row.id))}
                    )
                except SealError:
                    unopenable.add((kind, row.id))
                    _log.error(
                        "sealed_value_unopenable", extra={"kind": kind, "org_id": str(org_id), "id": str(row.id)}
                    )
            if updates:
                tx.conn.execute(_update(column), updates)
                resealed += len(updates)
    return resealed, unopenable


def _select(column: SealedColumn) -> Any:
    # Table and column names come from lib/sealed_columns, never from input.
    return text(
        f"SELECT id, {column.column} AS value FROM {column.table} "
        f"WHERE org_id = :org AND id = ANY(:ids) AND {column.column} IS NOT NULL FOR NO KEY UPDATE"
    )


def _update(column: SealedColumn) -> Any:
    return text(f"UPDATE {column.table} SET {column.column} = :value WHERE org_id = :org AND id = :id")
