"""Removing stored files (payment proofs, portal screenshots) without ever losing track of one.

A proof leaves storage when its payment is deleted, when a newer proof replaces it, or when its
customer is anonymised; a portal screenshot when its shipment registers or a newer one replaces
it. Storage is outside the database transaction, so the removal is written as a job in the same
transaction as the change that causes it (lib.jobs): if the change rolls back, nothing is
removed; if it commits, the file is removed right after, and should that fail (the provider is
down, the function times out) the outbox cron retries until it succeeds. The job is due a few
minutes later, so the usual case costs the cron one idempotent repeat.
Deleting a missing object succeeds, so a retry after a success is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from lib import jobs
from lib.config import settings
from lib.db import TenantTx
from lib.storage.objects import StorageError
from lib.storage.selection import object_store

KIND = "storage.delete"
# The request that caused a removal tries it at once; the queued job is the fallback, due later.
FALLBACK_DELAY = timedelta(minutes=5)
# The longest one removal may take: the blob store's connect (5 s) and request (30 s) timeouts, and margin.
DELETE_SECONDS = 40.0
_log = logging.getLogger("zentro.storage")


def schedule_deletion(tx: TenantTx, key: str, now: datetime) -> None:
    jobs.enqueue(tx, KIND, {"key": key}, now + FALLBACK_DELAY)


def delete_now(keys: list[str]) -> None:
    """Try to remove committed deletions at once; the queued jobs cover any failure."""
    store = object_store(settings())
    for key in keys:
        try:
            store.delete(key)
        except StorageError:
            _log.warning("file_delete_deferred", extra={"key": key})


def _handle(job: jobs.Job) -> str:
    key = job.payload.get("key")
    if not isinstance(key, str):
        raise jobs.GiveUp("job without a key")
    try:
        object_store(settings()).delete(key)
    except ValueError as bad:  # not a key we make: retrying cannot help
        raise jobs.GiveUp(str(bad)) from None
    except StorageError as failure:
        raise jobs.RetryLater(str(failure)) from None
    return "deleted"


DELETION = jobs.Kind(KIND, _handle, job_seconds=DELETE_SECONDS)


def drain_deletions(clock: jobs.RunClock, *, limit: int = 50) -> jobs.DrainReport:
    return jobs.drain(DELETION, clock, limit=limit)
