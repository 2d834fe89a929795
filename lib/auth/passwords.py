"""Password hashing: bcrypt over an HMAC-SHA256 pre-hash with a server-side pepper.

bcrypt reads at most 72 bytes (bcrypt 5 refuses more), so the password is first reduced to
HMAC-SHA256(pepper, password), base64-encoded: 44 ASCII bytes, no NUL, every byte of a
128-character password counts. The pepper lives in the environment, not the database: a stolen
database alone does not allow offline guessing.

Stored format, self-describing (like django's hashers, so a login can tell when to rehash):

    bcrypt-hmac-sha256-p1$2b$12$<22 chars salt><31 chars hash>
    \\___ scheme, pepper 1 _/\\____ a standard bcrypt hash, cost 12 _____/

`needs_rehash` is true when the scheme or pepper differ, or the cost is below the configured one.
Hashing costs ~240 ms at cost 12; callers run it in a worker thread (api handlers already do).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import bcrypt

SCHEME = "bcrypt-hmac-sha256-p1"
_STORED = re.compile(r"^(?P<scheme>[a-z0-9-]+)(?P<bcrypt>\$2b\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53})$")

# A real hash of a random password, verified against when an account does not exist, so that
# "no such user" costs the same time as "wrong password". Its cost is raised to the configured
# one on first use (a hash made at another cost would time differently).
_dummy_hashes: dict[tuple[int, bytes], str] = {}


class PasswordHasher:
    def __init__(self, pepper: str, cost: int) -> None:
        if len(pepper) < 32:
            raise ValueError("the password pepper must be at least 32 characters")
        if not 4 <= cost <= 31:
            raise ValueError("bcrypt cost out of range")
        self._pepper = pepper.encode()
        self.cost = cost

    def _prehash(self, password: str) -> bytes:
        digest = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest)

    def hash(self, password: str) -> str:
        return SCHEME + bcrypt.hashpw(self._prehash(password), bcrypt.gensalt(rounds=self.cost)).decode()

    def verify(self, password: str, stored: str | None) -> bool:
        """Constant-work check; an unknown or malformed hash still costs a full bcrypt round."""
        match = _STORED.match(stored or "")
        if match is None or match["scheme"] != SCHEME:
            self.verify_dummy(password)
            return False
        return bcrypt.checkpw(self._prehash(password), match["bcrypt"].encode())

    def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, for accounts that do not exist."""
        key = (self.cost, self._pepper)
        dummy = _dummy_hashes.get(key)
        if dummy is None:
            dummy = _dummy_hashes[key] = bcrypt.hashpw(b"zentro-dummy", bcrypt.gensalt(rounds=self.cost)).decode()
        bcrypt.checkpw(self._prehash(password), dummy.encode())

    def needs_rehash(self, stored: str) -> bool:
        match = _STORED.match(stored)
        return match is None or match["scheme"] != SCHEME or int(match["cost"]) < self.cost
