"""One interpreter of Build Output API v3 routing, for any route table and filesystem.

A request walks the phases of the table (the routes between `{"handle": ...}` markers):

    none -> filesystem -> miss -> hit, then error when the status is 400 or more

- A route matches when its `src` (PCRE, case-insensitive unless `caseSensitive`) matches the
  path and, if it lists `methods`, the method is one of them. In the error phase it must also
  name the current status.
- A match applies, in order: `mitigate: deny` (answer 403 at once), `headers` (with `$1` /
  `$name` substituted), `status`, `dest` (the path changes; its query is added to the
  function's query). A 3xx status with a `Location` header answers the redirect at once.
- `check: true` looks the new path up: found ends routing there; not found runs the miss
  phase on it, then routing goes on with the next route. A route without `continue` ends its
  phase; a phase that ends that way and found nothing skips to miss.
- After each phase the path is looked up in the filesystem; found goes to hit. Miss without a
  file sets 404 (keeping an error status already set); a miss route that finds its file clears
  a 404 (`/api/health.py` -> `api/health`).

Where vercel dev and the platform differ (vercel dev forgets a rewrite between phases and
drops route headers on some 404s), this follows the platform as the Build Output API describes
it and as build-output-router implements it. In the hit and miss phases a route header does not
replace one already set, as in vercel dev's router.
"""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl

from scripts.localvercel.config import ROUTE_KEYS, pcre_to_python
from scripts.localvercel.filesystem import Target

Kind = Literal["function", "static", "redirect", "deny", "error"]
Phase = Literal["none", "filesystem", "miss", "hit", "error"]
_PHASES: tuple[Phase, ...] = ("none", "filesystem", "miss", "hit", "error")
_PARAM = re.compile(r"\$([1-9a-zA-Z]+)")
_MAX_STEPS = 32


class Filesystem(Protocol):
    def lookup(self, path: str) -> Target | None: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What the deployment does with one request.

    kind      function / static (serve `target`), redirect (to `target`), deny (403), error
    status    the status the response must have; None lets the function or file decide
    target    function name (`api/orders/[id]`), static file (`robots.txt`) or redirect Location
    headers   route headers for the response, lower-case names, sorted
    query     parameters the routes add to the function's query string, in order (`id=42`)
    """

    kind: Kind
    status: int | None = None
    target: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        return dict(self.headers).get(name.lower())


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    regex: re.Pattern[str]
    dest: str | None
    headers: tuple[tuple[str, str], ...]
    methods: frozenset[str] | None
    continue_: bool
    check: bool
    status: int | None
    deny: bool

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CompiledRoute:
        unknown = set(raw) - ROUTE_KEYS
        if unknown:
            raise ValueError(f"route keys not implemented: {sorted(unknown)} in {dict(raw)}")
        mitigate = raw.get("mitigate")
        if mitigate is not None and mitigate != {"action": "deny"}:
            raise ValueError(f"only mitigate deny is implemented: {dict(raw)}")
        flags = 0 if raw.get("caseSensitive") else re.IGNORECASE
        methods = raw.get("methods")
        return cls(
            regex=re.compile(pcre_to_python(str(raw["src"])), flags),
            dest=raw.get("dest"),
            headers=tuple((str(k), str(v)) for k, v in dict(raw.get("headers") or {}).items()),
            methods=frozenset(m.upper() for m in methods) if methods is not None else None,
            continue_=bool(raw.get("continue")),
            check=bool(raw.get("check")),
            status=raw.get("status"),
            deny=mitigate is not None,
        )

    def match(self, path: str, method: str) -> re.Match[str] | None:
        if self.methods is not None and method.upper() not in self.methods:
            return None
        return self.regex.search(path)


def group_phases(routes: Sequence[Mapping[str, Any]]) -> dict[Phase, tuple[CompiledRoute, ...]]:
    """Split a compiled route list at its `handle` markers; unknown phases raise."""
    phases: dict[Phase, list[CompiledRoute]] = {phase: [] for phase in _PHASES}
    current: Phase = "none"
    for raw in routes:
        if "handle" in raw:
            handle = raw["handle"]
            if handle not in _PHASES or handle == "none":
                raise ValueError(f"handle {handle!r} is not implemented")
            current = handle
            continue
        phases[current].append(CompiledRoute.parse(raw))
    return {phase: tuple(items) for phase, items in phases.items()}


def substitute(template: str, match: re.Match[str]) -> str:
    """`$1` and `$name` as routing-utils resolves them (an unknown reference becomes empty)."""
    names = match.re.groupindex

    def replace(ref: re.Match[str]) -> str:
        param = ref.group(1)
        if param in names:
            return match.group(param) or ""
        digits = re.match(r"\d+", param)
        index = int(digits.group()) if digits else -1
        if 0 < index <= match.re.groups:
            return match.group(index) or ""
        return ""

    return _PARAM.sub(replace, template)


class _Outcome(enum.Enum):
    NEXT = "next"  # the phase ran out of routes
    DONE = "done"  # a route without `continue` ended the phase
    FOUND = "found"  # a `check` route found its file


@dataclass
class _State:
    path: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)


class Router:
    """Decides requests against one route table and one filesystem."""

    def __init__(self, routes: Sequence[Mapping[str, Any]], filesystem: Filesystem) -> None:
        self.phases = group_phases(routes)
        self.filesystem = filesystem

    def decide(self, method: str, path: str) -> Decision:
        state = _State(path=path)
        phase: Phase = "none"
        errored = False
        for _ in range(_MAX_STEPS):
            outcome = self._run_phase(state, phase, method)
            if isinstance(outcome, Decision):
                return outcome
            if phase == "hit":
                if errored or state.status is None or state.status < 400:
                    return self._final(state)
                errored, phase = True, "error"
                continue
            exists = self.filesystem.lookup(state.path) is not None
            if phase == "miss" and not exists and (state.status is None or state.status < 400):
                state.status = 404
            if outcome is _Outcome.FOUND or exists or phase in ("miss", "error"):
                phase = "hit"
            elif outcome is _Outcome.DONE or phase == "filesystem":
                phase = "miss"
            else:
                phase = "filesystem"
        raise RuntimeError(f"routing {method} {path} did not settle in {_MAX_STEPS} phases")

    def _run_phase(self, state: _State, phase: Phase, method: str) -> Decision | _Outcome:
        for route in self.phases[phase]:
            match = route.match(state.path, method)
            if match is None or (phase == "error" and route.status != state.status):
                continue
            if route.deny:
                return self._decision(state, "deny", status=403)
            for name, value in route.headers:
                if phase not in ("hit", "miss") or name.lower() not in state.headers:
                    state.headers[name.lower()] = substitute(value, match)
            if route.status is not None:
                state.status = route.status
            if route.dest is not None:
                self._rewrite(state, substitute(route.dest, match))
            location = state.headers.get("location")
            if state.status is not None and 300 <= state.status < 400 and location is not None:
                return self._decision(state, "redirect", status=state.status, target=location)
            if route.check:
                if self.filesystem.lookup(state.path) is not None:
                    if phase == "miss" and state.status == 404:
                        state.status = None
                    return _Outcome.FOUND
                if phase != "miss":
                    found = self._try_miss(state, method)
                    if found is not None:
                        return found
                continue
            if not route.continue_:
                return _Outcome.DONE
        return _Outcome.NEXT

    def _try_miss(self, state: _State, method: str) -> Decision | _Outcome | None:
        """`check` on a path that is not there: the miss phase gets one go at it."""
        trial = copy.deepcopy(state)
        outcome = self._run_phase(trial, "miss", method)
        if isinstance(outcome, Decision):
            return outcome
        if outcome is _Outcome.FOUND:
            state.__dict__.update(trial.__dict__)
            return outcome
        return None

    @staticmethod
    def _rewrite(state: _State, dest: str) -> None:
        path, _, query = dest.partition("?")
        state.path = path if path.startswith("/") else "/" + path
        for pair in parse_qsl(query, keep_blank_values=True):
            if pair not in state.query:
                state.query.append(pair)

    def _final(self, state: _State) -> Decision:
        target = self.filesystem.lookup(state.path)
        if target is None:
            return self._decision(state, "error", status=state.status or 404)
        query = tuple(state.query) if target.kind == "function" else ()
        return Decision(target.kind, state.status, target.name, self._headers(state), query)

    def _decision(self, state: _State, kind: Kind, *, status: int, target: str = "") -> Decision:
        return Decision(kind, status, target, self._headers(state))

    @staticmethod
    def _headers(state: _State) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(state.headers.items()))
