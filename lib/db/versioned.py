"""Optimistic concurrency for versioned rows: If-Match checks and the UPDATE that enforces them.

A row's `version` is its ETag. A change names the version it was made against; `require_version`
refuses a stale one before any work (409 with the current ETag), and `update_versioned` checks it
again in the UPDATE itself, so a concurrent change cannot slip in between. Column names come from
the caller's whitelist, never from input.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text

from lib.db.transactions import TenantTx
from lib.http.errors import ApiError


def require_version(current: int, if_match: int | None) -> None:
    if if_match is None or current != if_match:
        raise ApiError("version_conflict", 409, headers={"ETag": f'"{current}"'})


def update_versioned(
    tx: TenantTx,
    table: str,
    updatable: frozenset[str],
    row_id: uuid.UUID,
    version: int,
    changes: Mapping[str, Any],
    now: datetime,
    returning: str = "id",
) -> Any:
    """Set `changes` on the row if it is still at `version`, bumping it; the row as it is now
    (the `returning` columns, from the whitelist's code, never input), or None when stale."""
    unknown = set(changes) - updatable
    if unknown:
        raise ValueError(f"not updatable on {table}: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = :set_{column}" for column in changes)
    statement = text(
        f"UPDATE {table} SET {assignments}, version = version + 1, updated_at = :now "
        f"WHERE org_id = :org AND id = :id AND version = :version RETURNING {returning}"
    )
    params = {f"set_{column}": value for column, value in changes.items()}
    values = {**params, "org": tx.ctx.org_id, "id": row_id, "version": version, "now": now}
    return tx.conn.execute(statement, values).one_or_none()
