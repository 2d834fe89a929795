"""/.well-known/security.txt is valid RFC 9116 and not about to expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sectxt

CANONICAL = "https://zentro.one/.well-known/security.txt"


def fetch(client: Any) -> Any:
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    return response


def test_security_txt_is_valid_rfc_9116(client: Any) -> None:
    parser = sectxt.Parser(fetch(client).content, urls=CANONICAL)
    assert parser.errors == []
    assert parser.is_valid()
    fields = parser._values  # the parsed fields; sectxt has no public accessor
    assert fields["contact"] == ["mailto:privacy@zentro.one"]
    assert fields["preferred-languages"] == ["es, en"]
    assert fields["canonical"] == [CANONICAL]
    assert fields["policy"]


def test_security_txt_does_not_expire_within_30_days(client: Any) -> None:
    text = fetch(client).text
    expires = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Expires:"))
    when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert when - now > timedelta(days=30), f"security.txt expires {expires}: renew it (keep it under a year ahead)"
    assert when - now < timedelta(days=366), "RFC 9116 recommends an Expires less than a year ahead"


def test_the_validator_does_catch_a_broken_file() -> None:
    broken = b"Contact: privacy@zentro.one\nExpires: yesterday\n"
    parser = sectxt.Parser(broken, urls=CANONICAL)
    assert not parser.is_valid()
    assert parser.errors
