"""Transactional email: templates rendered in Spanish or English, and transports that deliver
one rendered message idempotently (Resend in deployments, a directory of .eml files locally).

Importing this package is cheap: its names are loaded on first use (PEP 562), so a function
that only queues email never imports the transports (the stdlib `email` package, the resend
SDK); only the outbox drain does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lib.email.local_transport import LocalDirectoryTransport
    from lib.email.resend_transport import ResendTransport
    from lib.email.templates import (
        DEFAULT_LANGUAGE,
        LANGUAGES,
        TEMPLATE_PARAMS,
        RenderedEmail,
        render,
        role_label,
    )
    from lib.email.transport import (
        DeliveryResult,
        EmailConfigurationError,
        EmailDeliveryError,
        EmailTransport,
        OutgoingEmail,
        PermanentEmailError,
        TransientEmailError,
    )

_EXPORTS = {
    "LocalDirectoryTransport": "lib.email.local_transport",
    "ResendTransport": "lib.email.resend_transport",
    "DEFAULT_LANGUAGE": "lib.email.templates",
    "LANGUAGES": "lib.email.templates",
    "TEMPLATE_PARAMS": "lib.email.templates",
    "RenderedEmail": "lib.email.templates",
    "render": "lib.email.templates",
    "role_label": "lib.email.templates",
    "DeliveryResult": "lib.email.transport",
    "EmailConfigurationError": "lib.email.transport",
    "EmailDeliveryError": "lib.email.transport",
    "EmailTransport": "lib.email.transport",
    "OutgoingEmail": "lib.email.transport",
    "PermanentEmailError": "lib.email.transport",
    "TransientEmailError": "lib.email.transport",
}

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "TEMPLATE_PARAMS",
    "DeliveryResult",
    "EmailConfigurationError",
    "EmailDeliveryError",
    "EmailTransport",
    "LocalDirectoryTransport",
    "OutgoingEmail",
    "PermanentEmailError",
    "RenderedEmail",
    "ResendTransport",
    "TransientEmailError",
    "render",
    "role_label",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lib.email' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
