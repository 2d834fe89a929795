"""The two pattern languages Vercel applies to project files, in the subsets we use.

- `functions` keys and `excludeFiles` in vercel.json are minimatch globs: `*` and `?` stay
  inside one path segment and skip names starting with a dot unless the pattern spells the dot,
  `**` spans any number of segments (zero included), `{a,b}` alternates. Vercel matches a
  function file against the keys in order and the first match wins.
- .vercelignore follows .gitignore: a pattern without a slash matches a name at any depth, one
  with a slash is anchored at the root, a trailing slash limits it to directories.

Anything outside these subsets (extglobs, negation) raises ValueError, so an unsupported
pattern cannot silently match differently from Vercel.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_EXTGLOB = re.compile(r"[+@!]\(")


def expand_braces(pattern: str) -> list[str]:
    """`{a,b}c` -> [`ac`, `bc`], nested braces included (minimatch's brace expansion)."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    depth = 0
    for end in range(start, len(pattern)):
        if pattern[end] == "{":
            depth += 1
        elif pattern[end] == "}":
            depth -= 1
            if depth == 0:
                break
    else:
        raise ValueError(f"unbalanced brace in glob {pattern!r}")
    options, depth, current = [], 0, ""
    for char in pattern[start + 1 : end]:
        if char == "," and depth == 0:
            options.append(current)
            current = ""
            continue
        depth += char == "{"
        depth -= char == "}"
        current += char
    options.append(current)
    head, tail = pattern[:start], pattern[end + 1 :]
    return [expanded for option in options for expanded in expand_braces(head + option + tail)]


@lru_cache(maxsize=512)
def _segment_regex(segment: str) -> re.Pattern[str]:
    if _EXTGLOB.search(segment):
        raise ValueError(f"extglob patterns are not supported: {segment!r}")
    body = fnmatch.translate(segment)
    # minimatch's default: wildcards never match a leading dot the pattern does not spell.
    prefix = "" if segment.startswith(".") else r"(?!\.)"
    return re.compile(prefix + body)


def _match_segments(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head = pattern[0]
    if head == "**":
        # Zero segments, or one more (not a dot-name) and try again.
        if _match_segments(pattern[1:], path):
            return True
        return bool(path) and not path[0].startswith(".") and _match_segments(pattern, path[1:])
    if not path or not _segment_regex(head).match(path[0]):
        return False
    return _match_segments(pattern[1:], path[1:])


def glob_match(pattern: str, path: str) -> bool:
    """Whether the relative posix `path` matches the minimatch `pattern`."""
    if pattern == path:
        return True
    return any(_match_segments(expanded.strip("/").split("/"), path.split("/")) for expanded in expand_braces(pattern))


def first_match(patterns: Iterable[str], path: str) -> str | None:
    """The first pattern that matches `path`: how Vercel picks a function's `functions` entry."""
    return next((pattern for pattern in patterns if glob_match(pattern, path)), None)


class IgnoreRules:
    """The .vercelignore subset of .gitignore: names, anchored paths, directory-only rules."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._rules: list[tuple[str, bool, bool]] = []  # (pattern, anchored, directories only)
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("!"):
                raise ValueError(f"negated ignore rules are not supported: {line!r}")
            directory_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            self._rules.append((line.lstrip("/"), anchored, directory_only))

    @classmethod
    def from_file(cls, path: Path) -> IgnoreRules:
        return cls(path.read_text(encoding="utf-8").splitlines() if path.is_file() else [])

    def ignores(self, relative: str, *, is_dir: bool) -> bool:
        """Whether `relative` (posix, from the root) or any directory above it is ignored."""
        parts = relative.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            prefix_is_dir = is_dir or depth < len(parts)
            for pattern, anchored, directory_only in self._rules:
                if directory_only and not prefix_is_dir:
                    continue
                if anchored:
                    if _match_segments(pattern.split("/"), prefix.split("/")):
                        return True
                elif fnmatch.fnmatchcase(parts[depth - 1], pattern):
                    return True
        return False
