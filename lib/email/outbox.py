"""Transactional email through the jobs table: queued with the change, sent by cron, never lost.

`enqueue_email(tx, ...)` renders the message (a template bug fails the request, not the cron)
and stores the rendered message as a sealed job in the caller's transaction. `deliver` is the
job handler: it hands that exact message to the transport with the job id as the idempotency
key, so a job that runs twice (a worker died between sending and recording) is delivered once
by Resend. Storing the rendered text, rather than rendering again at delivery, keeps a retry
byte-identical even across a deploy that changed the wording (Resend refuses a reused key with
a different payload).

A transient failure is retried with backoff for up to 72 hours (lib/jobs); Retry-After is honoured
up to an hour (Resend remembers idempotency keys for 24 hours, and the links in these emails
expire sooner). An email still failing after that is kept, sealed, for an ADMIN to retry or
discard (lib/dead_jobs). A configuration error (wrong API key, unverified sender) halts the run
and leaves every email queued, since no email could succeed until someone fixes it.

The transport is Resend when RESEND_API_KEY is set (always, in production and preview), else a
directory of .eml files (MAIL_DIR, `.data/mail` for `./scripts/dev`) a developer can open.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from lib import jobs
from lib.config import Settings
from lib.config import settings as load_settings
from lib.db import TenantTx
from lib.email.templates import render
from lib.email.transport import (
    EmailConfigurationError,
    EmailTransport,
    OutgoingEmail,
    PermanentEmailError,
    TransientEmailError,
)

KIND = "email"
MAX_RETRY_AFTER_SECONDS = 3600.0
# The longest one send may take: ResendTransport's connect (5 s) and read (10 s) timeouts, and margin.
SEND_SECONDS = 20.0


def enqueue_email(
    tx: TenantTx, *, to: str, template: str, language: str, params: Mapping[str, str], now: datetime
) -> None:
    rendered = render(template, language, params)
    payload = {
        "to": to,
        "template": template,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
    }
    jobs.enqueue(tx, KIND, payload, now)


@functools.cache
def _transport(key: str | None, api_url: str | None, sender: str, mail_dir: str | None) -> EmailTransport:
    if key:
        from lib.email.resend_transport import ResendTransport

        return ResendTransport(key, sender, api_url)
    if not mail_dir:
        raise EmailConfigurationError("neither RESEND_API_KEY nor MAIL_DIR is set", code="not_configured")
    from lib.email.local_transport import LocalDirectoryTransport

    return LocalDirectoryTransport(Path(mail_dir), sender=sender)


def transport_for(settings: Settings) -> EmailTransport:
    key = settings.resend_api_key.reveal() if settings.resend_api_key else None
    return _transport(key, settings.resend_api_url, settings.email_from, settings.mail_dir)


def deliver(job: jobs.Job) -> str:
    """Job handler: send one queued email; returns the provider's message id."""
    payload = job.payload
    message = OutgoingEmail(
        to=str(payload["to"]),
        subject=str(payload["subject"]),
        text=str(payload["text"]),
        html=str(payload["html"]),
        idempotency_key=str(job.id),
        tags={"template": str(payload["template"])},
    )
    try:
        return transport_for(load_settings()).send(message).provider_id
    except TransientEmailError as exc:
        retry_after = exc.retry_after_seconds
        if retry_after is not None:
            retry_after = min(retry_after, MAX_RETRY_AFTER_SECONDS)
        raise jobs.RetryLater(f"{exc.code} ({exc.status})", retry_after) from None
    except EmailConfigurationError as exc:
        raise jobs.Halt(f"email transport misconfigured: {exc.code} ({exc.status})") from None
    except PermanentEmailError as exc:
        raise jobs.GiveUp(f"{exc.code} ({exc.status})") from None


EMAIL = jobs.Kind(KIND, deliver, job_seconds=SEND_SECONDS)


def drain_outbox(clock: jobs.RunClock, *, limit: int = 50) -> jobs.DrainReport:
    return jobs.drain(EMAIL, clock, limit=limit)
