"""Who acts, for which organization, from where.

A `TenantContext` is resolved once per request from the authenticated session (never from the
request body, query or a header the client controls) and is the first argument of everything
that touches tenant data. It is frozen: code cannot switch organization half-way through a
request. Work that genuinely has no organization (health checks, the audit purge) does not get a
fake one; it uses `lib.db.unscoped_transaction`, whose name says what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from lib.db.session_check import SessionCheck


class Role(StrEnum):
    ADMIN = "ADMIN"
    SUPERVISOR = "SUPERVISOR"
    SELLER = "SELLER"
    LOGISTICS = "LOGISTICS"


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Where a request came from, as recorded in logs and the audit trail."""

    request_id: str
    client_ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user acting; `user_id=None` means the system itself (cron jobs)."""

    user_id: UUID | None
    role: Role | None

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, role=None)


@dataclass(frozen=True, slots=True)
class TenantContext:
    org_id: UUID
    actor: Actor
    request: RequestMeta
    # Set when the session behind this context is a bet the database has yet to confirm
    # (lib/db/session_check): the first database access of the request settles it.
    session_check: SessionCheck | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Fail closed: a context with a missing or mistyped organization must not exist at all.
        if not isinstance(self.org_id, UUID):
            raise TypeError("TenantContext.org_id must be a UUID")
