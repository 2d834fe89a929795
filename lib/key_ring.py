"""The process's encryption key ring, parsed once from ENCRYPTION_KEYS (lib/config validated it)."""

from __future__ import annotations

import functools

from lib.config import settings
from lib.crypto import KeyRing


@functools.cache
def current_key_ring() -> KeyRing:
    return KeyRing.parse(settings().encryption_keys.reveal())
