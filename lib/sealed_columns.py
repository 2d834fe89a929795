"""Every database column that holds a sealed value (lib/crypto), and the context each is sealed in.

Key rotation (lib/key_rotation) reseals exactly these; db/versions/0005 declares the same list for
the SQL that finds values under old keys, and tests/lib/test_key_rotation.py fails when either
list, or a new `bytea` column of the schema, is missing from the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from lib.crypto import SealContext


@dataclass(frozen=True, slots=True)
class SealedColumn:
    table: str
    column: str

    @property
    def kind(self) -> str:
        return f"{self.table}.{self.column}"

    def context(self, org_id: UUID, record_id: UUID) -> SealContext:
        """The context every writer of this column seals in: organization, table, row id, column."""
        return SealContext(org_id=org_id, table=self.table, record_id=str(record_id), field=self.column)


MFA_SECRET = SealedColumn("users", "mfa_secret")
JOB_PAYLOAD = SealedColumn("jobs", "payload")
INTEGRATION_CREDENTIALS = SealedColumn("integrations", "credentials")

SEALED_COLUMNS: tuple[SealedColumn, ...] = (MFA_SECRET, JOB_PAYLOAD, INTEGRATION_CREDENTIALS)
BY_KIND = {column.kind: column for column in SEALED_COLUMNS}
