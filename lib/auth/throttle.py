"""Login throttling in Postgres: per account and per client address, slowing down, then locking.

Failures are counted in a window (1 h per account, 1 h per address). Once the free failures are
used up (5 per account, 20 per address) the key locks, and each further failure locks it for
twice as long as the last, from 15 seconds up to 15 minutes (account) or an hour (address): a
typo costs nothing, guessing stalls fast. While a key is locked, login answers 429 with Retry-After without looking
at the password, the same for existing and non-existing accounts.

Keys are HMAC-SHA256 under a key derived from the password pepper: the table never holds the
email addresses people typed, and its contents cannot be confirmed by hashing guesses. The
address is the one lib/http/client_ip resolved (Vercel's header or the socket), never a
client-sent X-Forwarded-For.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from lib.db import unscoped_transaction


@dataclass(frozen=True, slots=True)
class Rule:
    free_failures: int
    window: timedelta
    first_lock: timedelta
    max_lock: timedelta


ACCOUNT = Rule(
    free_failures=5, window=timedelta(hours=1), first_lock=timedelta(seconds=15), max_lock=timedelta(minutes=15)
)
ADDRESS = Rule(
    free_failures=20, window=timedelta(hours=1), first_lock=timedelta(seconds=15), max_lock=timedelta(hours=1)
)


@dataclass(frozen=True, slots=True)
class Key:
    value: bytes
    rule: Rule


_LOCKED = text("SELECT max(locked_until) FROM auth_throttle WHERE key = ANY(:keys) AND locked_until > :now")
_COUNT = text(
    """
    INSERT INTO auth_throttle AS t (key, failures, window_started_at) VALUES (:key, 1, :now)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN t.window_started_at < :window_start THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN t.window_started_at < :window_start THEN :now ELSE t.window_started_at END
    RETURNING failures
    """
)
_LOCK = text("UPDATE auth_throttle SET locked_until = :until WHERE key = :key")
_CLEAR = text("DELETE FROM auth_throttle WHERE key = :key")


def key(pepper: str, kind: str, value: str, rule: Rule) -> Key:
    """The throttle key for `kind:value`, an HMAC under a key derived from the pepper."""
    secret = hmac.new(pepper.encode(), b"zentro-throttle-v1", hashlib.sha256).digest()
    return Key(hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).digest(), rule)


def login_keys(pepper: str, email: str, client_ip: str | None) -> tuple[Key, ...]:
    keys = [key(pepper, "account", email.strip().lower(), ACCOUNT)]
    if client_ip:
        keys.append(key(pepper, "ip", client_ip, ADDRESS))
    return tuple(keys)


def retry_after(keys: tuple[Key, ...], now: datetime) -> int | None:
    """Seconds until every key is unlocked, or None when none is locked."""
    with unscoped_transaction() as conn:
        until = conn.execute(_LOCKED, {"keys": [k.value for k in keys], "now": now}).scalar_one()
    return None if until is None else max(1, math.ceil((until - now).total_seconds()))


def record_failure(keys: tuple[Key, ...], now: datetime) -> None:
    with unscoped_transaction() as conn:
        for one in keys:
            failures = conn.execute(
                _COUNT, {"key": one.value, "now": now, "window_start": now - one.rule.window}
            ).scalar_one()
            over = failures - one.rule.free_failures
            if over >= 0:
                lock = min(one.rule.first_lock * 2 ** min(over, 20), one.rule.max_lock)
                conn.execute(_LOCK, {"key": one.value, "until": now + lock})


def record_success(account: Key) -> None:
    """A successful login clears its account's count (never the address's)."""
    with unscoped_transaction() as conn:
        conn.execute(_CLEAR, {"key": account.value})
