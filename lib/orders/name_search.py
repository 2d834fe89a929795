"""The keys name search walks (table order_name_keys, migration 0006), and which one a search walks.

Row-level security lets Postgres serve only leakproof conditions (`=`, `<`, `>=`) from an index,
so a search cannot intersect posting lists the way a GIN index would. Instead each order gets a
row per *key* of its customer's name, indexed on (org_id, key, created_at, order_id): one key
equal to what was typed is one index range already in the list's order (newest first), and a
page reads about as many rows as it shows, whatever the organization's size.

The keys of a name's words (lib.orders.validation.name_words):

- every prefix of three letters or more of each word ("quispe": "qui", "quis", "quisp",
  "quispe"), so a word typed in part is one key: the walk stops at the page's last order;
- for each two words of three letters or more whose first three letters differ, those two
  3-letter prefixes in code point order joined by a space ("zoila inga": "ing zoi"). Two words
  typed together are then one key too, and a rare pair of common words ("zoila" and "inga",
  a few dozen orders among a quarter of a million) reads its few rows, not every "inga".

A search walks one key and checks the other words it typed on each order it meets (a prefix
range on order_name_words' primary key, one index probe). Words of one or two letters have no
key of their own: a search made only of those walks the orders newest first instead and checks
each (lib.orders.store), which is quick exactly when such a short prefix is common. Two-letter
keys would add a row per word to every order (about a sixth more) for searches nobody needs fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_PREFIX = 3  # shortest single-word key
PAIR_PREFIX = 3  # letters of each word in a pair key


def name_keys(words: Sequence[str]) -> list[str]:
    """The keys stored for an order whose name has these words, each once."""
    keys: dict[str, None] = {}
    for word in words:
        for end in range(MIN_PREFIX, len(word) + 1):
            keys[word[:end]] = None
    heads = sorted({word[:PAIR_PREFIX] for word in words if len(word) >= PAIR_PREFIX})
    for index, first in enumerate(heads):
        for second in heads[index + 1 :]:
            keys[f"{first} {second}"] = None
    return list(keys)


@dataclass(frozen=True, slots=True)
class KeyWalk:
    """A search as one key walked newest first, and the typed words each order found must also have."""

    key: str
    checks: tuple[str, ...]


def key_walk(words: Sequence[str]) -> KeyWalk | None:
    """How to search these typed words (folded, as name_words gives them); None if no word has a key.

    Two words of three letters or more with different first letters walk their pair key (the two
    longest such: longer words are rarer); otherwise the longest word walks its own key. A word a
    key matches only by its first three letters is checked again, as is every other word.
    """
    long = sorted((word for word in words if len(word) >= PAIR_PREFIX), key=len, reverse=True)
    for index, first in enumerate(long):
        for second in long[index + 1 :]:
            if first[:PAIR_PREFIX] != second[:PAIR_PREFIX]:
                low, high = sorted((first[:PAIR_PREFIX], second[:PAIR_PREFIX]))
                checks = tuple(w for w in words if len(w) > PAIR_PREFIX or w not in (first, second))
                return KeyWalk(f"{low} {high}", checks)
    walked = max(words, key=len, default="")
    if len(walked) < MIN_PREFIX:
        return None
    return KeyWalk(walked, tuple(word for word in words if word != walked))
