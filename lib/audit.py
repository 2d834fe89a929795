"""The audit trail: who did what to which record, when and from where.

`record()` writes one event in the caller's transaction, so the event exists exactly when the
change it describes does. The table is append-only for the application: its database role may
insert and read audit events but not update or delete them, a trigger stamps `occurred_at` with
the database clock (the app cannot backdate an event), and credential-like keys in the before /
after snapshots are replaced by "[Filtered]".

Events are kept for the retention period (90 days, longer if AUDIT_RETENTION_DAYS says so) and
then removed by `purge_expired()`, which runs through a database function owned by the schema
owner. That function refuses a retention under 90 days and records every run in
`maintenance_runs`, a table the application can read but not write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import text

from lib.db import TenantTx, unscoped_transaction
from lib.redaction import CREDENTIAL_KEYS, FILTERED

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TARGET_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")

_INSERT = text(
    """
    INSERT INTO audit_events
        (org_id, actor_user_id, actor_role, action, target_type, target_id,
         request_id, client_ip, user_agent, before, after)
    VALUES
        (:org_id, :actor_user_id, :actor_role, :action, :target_type, :target_id,
         :request_id, CAST(:client_ip AS inet), :user_agent,
         CAST(:before AS jsonb), CAST(:after AS jsonb))
    RETURNING id
    """
)
_INSERT_MANY = text(
    """
    INSERT INTO audit_events
        (org_id, actor_user_id, actor_role, action, target_type, target_id,
         request_id, client_ip, user_agent, before, after)
    SELECT :org_id, :actor_user_id, :actor_role, :action, :target_type, target_id,
           :request_id, CAST(:client_ip AS inet), :user_agent, CAST(before AS jsonb), CAST(after AS jsonb)
    FROM unnest(CAST(:target_ids AS text[]), CAST(:befores AS text[]), CAST(:afters AS text[]))
         AS t(target_id, before, after)
    """
)
_PURGE = text("SELECT run_id, removed FROM audit_purge_expired(:retention_days)")

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Target:
    """The record an action was applied to, e.g. Target("order", order_id)."""

    type: str
    id: UUID | str | None = None

    def __post_init__(self) -> None:
        if not _TARGET_TYPE.match(self.type):
            raise ValueError(f"audit target type {self.type!r} must be snake_case")


@dataclass(frozen=True, slots=True)
class PurgeResult:
    run_id: int
    removed: int


def record(
    tx: TenantTx,
    action: str,
    target: Target,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> UUID:
    """Append an audit event for `tx`'s organization, actor and request, in `tx`."""
    event_id = tx.conn.execute(
        _INSERT,
        {
            **_who(tx, action, target.type),
            "target_id": str(target.id) if target.id is not None else None,
            "before": _snapshot(before),
            "after": _snapshot(after),
        },
    ).scalar_one()
    if not isinstance(event_id, UUID):
        raise TypeError("audit insert returned no id")
    return event_id


def record_many(
    tx: TenantTx,
    action: str,
    target_type: str,
    events: Sequence[tuple[UUID | str, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> None:
    """Append one event per (target id, before, after), all of one action, in one statement.

    For bulk changes (a CSV import): each record gets its own event, so its timeline is whole.
    """
    Target(target_type)  # validates the type's shape
    if not events:
        return
    tx.conn.execute(
        _INSERT_MANY,
        {
            **_who(tx, action, target_type),
            "target_ids": [str(target_id) for target_id, _, _ in events],
            "befores": [_snapshot(before) for _, before, _ in events],
            "afters": [_snapshot(after) for _, _, after in events],
        },
    )


def _who(tx: TenantTx, action: str, target_type: str) -> dict[str, Any]:
    """The columns every event of `tx` shares: organization, actor, request, action."""
    if not _ACTION.match(action):
        raise ValueError(f"audit action {action!r} must be dotted snake_case, e.g. 'order.status_changed'")
    ctx = tx.ctx
    return {
        "org_id": ctx.org_id,
        "actor_user_id": ctx.actor.user_id,
        "actor_role": ctx.actor.role.value if ctx.actor.role else None,
        "action": action,
        "target_type": target_type,
        "request_id": ctx.request.request_id,
        "client_ip": ctx.request.client_ip,
        "user_agent": ctx.request.user_agent,
    }


def purge_expired(retention_days: int) -> PurgeResult:
    """Delete audit events older than the retention and record the run. Not tenant-scoped."""
    with unscoped_transaction() as conn:
        row = conn.execute(_PURGE, {"retention_days": retention_days}).one()
    return PurgeResult(run_id=int(row.run_id), removed=int(row.removed))


def _snapshot(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return _encoder.encode(_without_credentials(values)).decode()


def _without_credentials(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {
            str(key): FILTERED if str(key).lower() in CREDENTIAL_KEYS else _without_credentials(value)
            for key, value in node.items()
        }
    if isinstance(node, (list, tuple)):
        return [_without_credentials(value) for value in node]
    return node
