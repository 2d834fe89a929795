"""Attempt limits in Postgres, per account and per client address: reserved before the work.

Every attempt reserves its place before what it guards runs (a password checked, a reset link
sent): `reserve` locks the keys' rows in one transaction (in key order, so concurrent attempts
queue instead of deadlocking), refuses when any key is locked, and otherwise counts the attempt
on every key and locks each key whose allowance this attempt uses up. Forty parallel guesses
against one account therefore get exactly five passwords checked: the fifth reservation locks
the key before its own check starts, and the other thirty-five are refused. A success gives its
reservation back (`Reservation.release`).

Counts live in a window (1 h). Once the free attempts are used up (5 per account, 20 per
address) the key locks, first for 15 seconds, then each further attempt for twice as long as the
last, up to 15 minutes (account) or an hour (address): a typo costs nothing, guessing stalls fast.
While a key is locked, the answer is 429 with Retry-After without looking at anything else, the
same for existing and non-existing accounts.

Keys are HMAC-SHA256 under a key derived from the password pepper: the table never holds the
email addresses people typed, and its contents cannot be confirmed by hashing guesses. The
address is the one lib/http/client_ip resolved (Vercel's header or the socket), never a
client-sent X-Forwarded-For.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text

from lib.db import unscoped_transaction


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    free_attempts: int
    window: timedelta
    first_lock: timedelta
    max_lock: timedelta

    def lock_for(self, attempts: int) -> timedelta | None:
        """How long the key locks after its `attempts`-th attempt in the window (None: it does not)."""
        over = attempts - self.free_attempts
        if over < 0:
            return None
        return min(self.first_lock * (1 << min(over, 20)), self.max_lock)


ACCOUNT = Rule("account", 5, timedelta(hours=1), timedelta(seconds=15), timedelta(minutes=15))
ADDRESS = Rule("address", 20, timedelta(hours=1), timedelta(seconds=15), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Key:
    value: bytes
    rule: Rule


class TooManyAttempts(Exception):
    """A key of the attempt is locked: try again after `retry_after` seconds."""

    def __init__(self, retry_after: int, rules: frozenset[str]) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after
        self.rules = rules  # the names of the rules whose keys are locked


@dataclass(slots=True)
class _Counted:
    key: Key
    locked_until: datetime | None  # what this attempt set, or None
    previous_lock: datetime | None


@dataclass(slots=True)
class Reservation:
    """An attempt counted on its keys. `release()` gives it back after a success."""

    counted: list[_Counted] = field(default_factory=list)
    released: bool = False

    def release(self) -> None:
        """The attempt succeeded: an account key's count is cleared, any other key's count goes
        back by one, and a lock this attempt set (and nobody replaced) is lifted."""
        if self.released or not self.counted:
            return
        self.released = True
        with unscoped_transaction() as conn:
            for one in self.counted:
                if one.key.rule is ACCOUNT:
                    conn.execute(_CLEAR, {"key": one.key.value})
                else:
                    conn.execute(
                        _GIVE_BACK,
                        {"key": one.key.value, "set": one.locked_until, "previous": one.previous_lock},
                    )


_ENSURE = text(
    "INSERT INTO auth_throttle (key, failures, window_started_at) "
    "SELECT k, 0, :now FROM unnest(CAST(:keys AS bytea[])) AS k ON CONFLICT (key) DO NOTHING"
)
_LOCK_ROWS = text(
    "SELECT key, failures, window_started_at, locked_until FROM auth_throttle "
    "WHERE key = ANY(:keys) ORDER BY key FOR NO KEY UPDATE"
)
# The column `failures` counts the window's attempts not given back: failures, and attempts in flight.
_COUNT = text(
    "UPDATE auth_throttle SET failures = :attempts, window_started_at = :started, locked_until = :locked "
    "WHERE key = :key"
)
_CLEAR = text("DELETE FROM auth_throttle WHERE key = :key")
_GIVE_BACK = text(
    "UPDATE auth_throttle SET failures = greatest(failures - 1, 0), "
    "locked_until = CASE WHEN locked_until = :set THEN :previous ELSE locked_until END WHERE key = :key"
)


def key(pepper: str, kind: str, value: str, rule: Rule) -> Key:
    """The throttle key for `kind:value`, an HMAC under a key derived from the pepper."""
    secret = hmac.new(pepper.encode(), b"zentro-throttle-v1", hashlib.sha256).digest()
    return Key(hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).digest(), rule)


def login_keys(pepper: str, email: str, client_ip: str | None) -> tuple[Key, ...]:
    """What a password or second-factor attempt counts on: the account, and the client's address."""
    keys = [key(pepper, "account", email.strip().lower(), ACCOUNT)]
    if client_ip:
        keys.append(key(pepper, "ip", client_ip, ADDRESS))
    return tuple(keys)


def reserve(keys: tuple[Key, ...], now: datetime) -> Reservation:
    """Count one attempt on every key, or raise TooManyAttempts (counting nothing) if any is locked."""
    by_value = {one.value: one for one in keys}
    if len(by_value) != len(keys):
        raise ValueError("an attempt counts once per key")
    with unscoped_transaction() as conn:
        conn.execute(_ENSURE, {"keys": sorted(by_value), "now": now})
        rows = conn.execute(_LOCK_ROWS, {"keys": sorted(by_value)}).all()
        locked = [row for row in rows if row.locked_until is not None and row.locked_until > now]
        if locked:
            until = max(row.locked_until for row in locked)
            retry = max(1, math.ceil((until - now).total_seconds()))
            raise TooManyAttempts(retry, frozenset(by_value[bytes(row.key)].rule.name for row in locked))
        reservation = Reservation()
        for row in rows:
            one = by_value[bytes(row.key)]
            fresh = row.window_started_at <= now - one.rule.window
            attempts, started = (1, now) if fresh else (row.failures + 1, row.window_started_at)
            lock = one.rule.lock_for(attempts)
            locked_until = now + lock if lock is not None else None
            conn.execute(
                _COUNT,
                {
                    "key": one.value,
                    "attempts": attempts,
                    "started": started,
                    "locked": locked_until if locked_until is not None else row.locked_until,
                },
            )
            reservation.counted.append(_Counted(one, locked_until, row.locked_until))
    return reservation
