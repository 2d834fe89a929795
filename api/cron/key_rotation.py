"""GET /api/cron/key_rotation: reseal secrets under the primary encryption key (every 10 minutes).

After a new key is put first in ENCRYPTION_KEYS, each run reseals what is still under older keys,
in batches, for up to ~40 s, and records progress in `key_rotations` (lib/key_rotation). The
answer says which old keys some value still needs: when `old_keys_in_use` is empty, they can be
removed from ENCRYPTION_KEYS. With one key and nothing to do, a run is three small queries.
"""

from datetime import UTC, datetime

from lib.http import CRON, Call, Operation, Schema, function_app
from lib.key_rotation import rotate


class KeyUsageView(Schema):
    kind: str
    key_id: int
    sealed_values: int


class KeyRotationRun(Schema):
    primary_key_id: int
    resealed: int
    unopenable: int
    remaining: int
    total_resealed: int
    completed_at: datetime | None
    old_keys_in_use: list[int]
    usage: list[KeyUsageView]


def run(call: Call[None, None]) -> KeyRotationRun:
    report = rotate(datetime.now(UTC))
    return KeyRotationRun(
        primary_key_id=report.primary_key_id,
        resealed=report.resealed,
        unopenable=report.unopenable,
        remaining=report.remaining,
        total_resealed=report.total_resealed,
        completed_at=report.completed_at,
        old_keys_in_use=report.old_keys_in_use,
        usage=[KeyUsageView(kind=u.kind, key_id=u.key_id, sealed_values=u.sealed_values) for u in report.usage],
    )


app = function_app(
    "/api/cron/key_rotation",
    Operation(
        "GET", run, access=CRON, response=KeyRotationRun, summary="Reseal secrets under the primary key", errors=(401,)
    ),
)
