"""Who may do what: the one permission policy.

Every api/ operation declares the permission it needs (`requires(Permission.X)`); this table is
the only place that says which roles hold it. tests/test_permission_matrix.py walks every route
against every role (and anonymous) and fails when a route answers against this table, so a
change of policy is a change here and nowhere else.

Roles get the minimum their work needs:
- ADMIN runs the organization: users, roles, security settings.
- SUPERVISOR oversees operations; sees the team, does not manage accounts.
- SELLER captures orders and follows their own; LOGISTICS prepares and dispatches confirmed
  orders and sees nothing of their prices.
Every signed-in user manages their own session, password and second factor.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from lib.tenancy import Role


class Permission(StrEnum):
    SESSION_READ = "session.read"
    SESSION_END = "session.end"
    PASSWORD_CHANGE = "password.change"  # noqa: S105 - a permission name
    MFA_MANAGE_OWN = "mfa.manage_own"
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    ORGANIZATION_READ = "organization.read"
    ORGANIZATION_SECURITY_MANAGE = "organization.security.manage"
    ORDERS_CREATE = "orders.create"
    ORDERS_READ = "orders.read"
    ORDERS_EDIT = "orders.edit"
    ORDERS_TRANSITION = "orders.transition"
    ORDERS_TIMELINE = "orders.timeline"
    ORDERS_IMPORT = "orders.import"
    ORDERS_EXPORT = "orders.export"
    CUSTOMERS_LOOKUP = "customers.lookup"
    CUSTOMERS_ANONYMISE = "customers.anonymise"
    PAYMENTS_READ = "payments.read"
    PAYMENTS_RECORD = "payments.record"
    PAYMENTS_REVIEW = "payments.review"
    COLLECTIONS_RECORD = "collections.record"
    SETTLEMENTS_MANAGE = "settlements.manage"
    REPORTS_RIDERS = "reports.riders"
    INTEGRATIONS_MANAGE = "integrations.manage"
    SHIPMENTS_MANAGE = "shipments.manage"
    JOBS_MANAGE = "jobs.manage"


_EVERYONE = frozenset(Role)

POLICY: Mapping[Permission, frozenset[Role]] = {
    Permission.SESSION_READ: _EVERYONE,
    Permission.SESSION_END: _EVERYONE,
    Permission.PASSWORD_CHANGE: _EVERYONE,
    Permission.MFA_MANAGE_OWN: _EVERYONE,
    Permission.USERS_READ: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.ORGANIZATION_READ: _EVERYONE,
    Permission.ORGANIZATION_SECURITY_MANAGE: frozenset({Role.ADMIN}),
    # Orders. What a role sees and may change of each order is narrowed further by lib/orders
    # (a SELLER's own orders until confirmed; LOGISTICS from confirmation on, without prices).
    Permission.ORDERS_CREATE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
    Permission.ORDERS_READ: _EVERYONE,
    Permission.ORDERS_EDIT: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
    Permission.ORDERS_TRANSITION: _EVERYONE,
    Permission.ORDERS_TIMELINE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
    Permission.ORDERS_IMPORT: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.ORDERS_EXPORT: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LOGISTICS}),
    Permission.CUSTOMERS_LOOKUP: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
    # Erasing a person's data is the organization's decision (Law 29733, GDPR art. 17).
    Permission.CUSTOMERS_ANONYMISE: frozenset({Role.ADMIN}),
    # Payments. A SELLER's reach is its own orders, and its payments until reviewed (lib/payments).
    # LOGISTICS sees no payment: only amounts to collect, and records what it collected.
    Permission.PAYMENTS_READ: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
    Permission.PAYMENTS_RECORD: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.SELLER}),
    Permission.PAYMENTS_REVIEW: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.COLLECTIONS_RECORD: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LOGISTICS}),
    Permission.SETTLEMENTS_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.REPORTS_RIDERS: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    # Integration credentials (the courier portal's password) are the organization's keys.
    Permission.INTEGRATIONS_MANAGE: frozenset({Role.ADMIN}),
    # A courier registration that needs a person: see why (screenshot) and retry. Dispatch work.
    Permission.SHIPMENTS_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LOGISTICS}),
    # Queued work that failed for good (emails among it: one-time links, staff addresses): the
    # organization's ADMIN decides whether it is sent again or dropped.
    Permission.JOBS_MANAGE: frozenset({Role.ADMIN}),
}

# What a user whose organization requires MFA may still do before enrolling a second factor:
# see who they are, enrol, and leave.
BEFORE_MFA_ENROLMENT = frozenset({Permission.SESSION_READ, Permission.SESSION_END, Permission.MFA_MANAGE_OWN})

# Roles an organization's MFA requirement applies to.
MFA_REQUIRABLE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


def allows(role: Role, permission: Permission) -> bool:
    return role in POLICY[permission]


def granted(role: Role) -> list[Permission]:
    """The permissions a role holds, in declaration order."""
    return [permission for permission in Permission if role in POLICY[permission]]


def _check_complete() -> None:
    missing = [permission for permission in Permission if permission not in POLICY]
    if missing:
        raise RuntimeError(f"permissions without a policy entry: {missing}")


_check_complete()
