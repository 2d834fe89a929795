"""What one run of the outbox cron does, in order, within its time (api/cron/outbox, and the dev
server's loop): password-reset requests first (they queue emails), then emails, then file
removals. Each part takes one item at a time and stops when the run has no time left for one more.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.auth import reset_requests
from lib.email.outbox import drain_outbox
from lib.jobs import DrainReport, RunClock
from lib.storage.deletions import drain_deletions

# The function may run 60 s (vercel.json); the rest is margin for the last item's bookkeeping.
RUN_SECONDS = 50.0


@dataclass(frozen=True, slots=True)
class OutboxReport:
    reset_requests: int
    emails: DrainReport
    files: DrainReport


def run(clock: RunClock) -> OutboxReport:
    resets = reset_requests.drain(clock)
    emails = drain_outbox(clock)
    files = drain_deletions(clock)
    return OutboxReport(reset_requests=resets, emails=emails, files=files)
