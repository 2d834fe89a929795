"""The policy itself, written out: widening a role's permissions is a change to review here."""

from __future__ import annotations

from lib.permissions import BEFORE_MFA_ENROLMENT, POLICY, Permission, granted
from lib.tenancy import Role

EXPECTED = {
    Role.ADMIN: set(Permission),
    Role.SUPERVISOR: {
        Permission.SESSION_READ,
        Permission.SESSION_END,
        Permission.PASSWORD_CHANGE,
        Permission.MFA_MANAGE_OWN,
        Permission.USERS_READ,
        Permission.ORGANIZATION_READ,
        Permission.ORDERS_CREATE,
        Permission.ORDERS_READ,
        Permission.ORDERS_EDIT,
        Permission.ORDERS_TRANSITION,
        Permission.ORDERS_TIMELINE,
        Permission.ORDERS_IMPORT,
        Permission.ORDERS_EXPORT,
        Permission.CUSTOMERS_LOOKUP,
        Permission.PAYMENTS_READ,
        Permission.PAYMENTS_RECORD,
        Permission.PAYMENTS_REVIEW,
        Permission.COLLECTIONS_RECORD,
        Permission.SETTLEMENTS_MANAGE,
        Permission.REPORTS_RIDERS,
        Permission.SHIPMENTS_MANAGE,
    },
    # Sellers capture and follow their own orders; no imports, exports or team views.
    Role.SELLER: {
        Permission.SESSION_READ,
        Permission.SESSION_END,
        Permission.PASSWORD_CHANGE,
        Permission.MFA_MANAGE_OWN,
        Permission.ORGANIZATION_READ,
        Permission.ORDERS_CREATE,
        Permission.ORDERS_READ,
        Permission.ORDERS_EDIT,
        Permission.ORDERS_TRANSITION,
        Permission.ORDERS_TIMELINE,
        Permission.CUSTOMERS_LOOKUP,
        Permission.PAYMENTS_READ,
        Permission.PAYMENTS_RECORD,
    },
    # Logistics reads, moves and exports confirmed orders (their delivery view) and records the cash
    # it collected; it edits nothing and sees no payment.
    Role.LOGISTICS: {
        Permission.SESSION_READ,
        Permission.SESSION_END,
        Permission.PASSWORD_CHANGE,
        Permission.MFA_MANAGE_OWN,
        Permission.ORGANIZATION_READ,
        Permission.ORDERS_READ,
        Permission.ORDERS_TRANSITION,
        Permission.ORDERS_EXPORT,
        Permission.COLLECTIONS_RECORD,
        Permission.SHIPMENTS_MANAGE,
    },
}


def test_each_role_holds_exactly_its_permissions() -> None:
    for role, expected in EXPECTED.items():
        assert set(granted(role)) == expected, role


def test_every_permission_is_in_the_policy() -> None:
    assert set(POLICY) == set(Permission)


def test_before_enrolling_mfa_a_user_can_only_look_enrol_or_leave() -> None:
    assert {Permission.SESSION_READ, Permission.SESSION_END, Permission.MFA_MANAGE_OWN} == BEFORE_MFA_ENROLMENT
