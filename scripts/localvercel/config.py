"""vercel.json: load it, and list what Vercel rejects or this package cannot reproduce.

Two kinds of problem, both fatal for the local router:

1. Configurations Vercel refuses at deploy time although `vercel build` and the JSON schema accept
   them. The one that bites: `routes` together with `headers`, `rewrites`, `redirects`,
   `cleanUrls` or `trailingSlash`. Nothing else catches it before a deploy fails.
2. Keys whose behaviour the local interpreter does not implement (`has`, `missing`, the
   `rewrite` and `resource` phases, external rewrites, `mitigate: challenge`, framework presets,
   ...). Failing loudly beats a local router that quietly routes differently from production.

`handle` markers split `routes` into phases as Build Output API routes do; the rules Vercel's
routing-utils `normalizeRoutes` enforces on them are checked here too, and an `error` phase route
must name the status it answers (the interpreter matches error routes by status).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Top-level keys that change nothing about routing, or that this package implements.
_TOP_LEVEL = frozenset({"$schema", "framework", "functions", "crons", "routes", "regions", "github", "git", "public"})
# Vercel refuses these next to `routes` (the "new" routing properties vs the legacy `routes`).
FORBIDDEN_WITH_ROUTES = ("headers", "rewrites", "redirects", "cleanUrls", "trailingSlash")
# Route keys the interpreter implements; `source`/`destination`/`statusCode` are aliases Vercel
# rewrites to `src`/`dest`/`status` when it compiles the table.
ROUTE_KEYS = frozenset(
    {"src", "dest", "headers", "methods", "continue", "caseSensitive", "check", "status", "mitigate"}
)
ROUTE_ALIASES = {"source": "src", "destination": "dest", "statusCode": "status"}
# The phases a `handle` marker may open (routing-utils also knows `rewrite` and `resource`).
HANDLE_PHASES = ("filesystem", "miss", "hit", "error")
_FUNCTION_KEYS = frozenset({"memory", "maxDuration", "excludeFiles", "includeFiles"})
_CRON_KEYS = frozenset({"path", "schedule"})
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?![=!])")


class VercelConfigError(ValueError):
    """vercel.json (or the project around it) is something the local router must not run."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("vercel.json problems:\n  - " + "\n  - ".join(problems))


def load_vercel_json(root: Path) -> dict[str, Any]:
    config = json.loads((root / "vercel.json").read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise VercelConfigError(["vercel.json must hold a JSON object"])
    return config


def pcre_to_python(pattern: str) -> str:
    """Vercel's `src` is PCRE; Python spells named groups `(?P<name>...)`."""
    return _NAMED_GROUP.sub("(?P<", pattern)


def validate_vercel_config(cfg: Mapping[str, Any]) -> list[str]:
    """Every reason this vercel.json would fail on Vercel or route differently here."""
    problems: list[str] = []
    if cfg.get("framework", "missing") is not None:
        problems.append("`framework` must be null: a preset (FastAPI, Flask, Python) breaks api/ file functions")
    if "routes" in cfg:
        for key in FORBIDDEN_WITH_ROUTES:
            if key in cfg:
                problems.append(f"`routes` cannot be combined with `{key}`: Vercel rejects this mix at deploy time")
    for key in sorted(set(cfg) - _TOP_LEVEL - set(FORBIDDEN_WITH_ROUTES)):
        problems.append(f"top-level `{key}` is not implemented by the local router")
    for key in FORBIDDEN_WITH_ROUTES:
        if key in cfg and "routes" not in cfg:
            problems.append(f"top-level `{key}` is not implemented by the local router (use `routes`)")
    problems.extend(_route_problems(cfg.get("routes", [])))
    problems.extend(_function_problems(cfg.get("functions", {})))
    problems.extend(_cron_problems(cfg.get("crons", [])))
    return problems


def _route_problems(routes: Any) -> list[str]:
    if not isinstance(routes, list):
        return ["`routes` must be a list"]
    problems: list[str] = []
    phases: list[str] = []
    for index, route in enumerate(routes):
        where = f"routes[{index}]"
        if not isinstance(route, Mapping):
            problems.append(f"{where} must be an object")
            continue
        if "handle" in route:
            problems.extend(_handle_problems(where, route, phases))
            phases.append(str(route["handle"]))
            continue
        problems.extend(_phase_problems(where, route, phases[-1] if phases else None))
        keys = {str(ROUTE_ALIASES.get(key, key)) for key in route}
        for key in sorted(keys - ROUTE_KEYS):
            problems.append(f"{where}: route key `{key}` is not implemented by the local router")
        src = route.get("src", route.get("source"))
        if not isinstance(src, str):
            problems.append(f"{where}: `src` must be a string")
        else:
            try:
                re.compile(pcre_to_python(src))
            except re.error as exc:
                problems.append(f"{where}: `src` is not a valid regular expression ({exc})")
        dest = route.get("dest", route.get("destination"))
        if dest is not None and (not isinstance(dest, str) or re.match(r"^[a-z][a-z0-9+.-]*:", dest, re.I)):
            problems.append(
                f"{where}: `dest` must be a path on this deployment (external rewrites are not implemented)"
            )
        mitigate = route.get("mitigate")
        if mitigate is not None and mitigate != {"action": "deny"}:
            problems.append(f"{where}: only `mitigate: {{action: deny}}` is implemented (challenge needs Vercel's WAF)")
        headers = route.get("headers", {})
        if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
            problems.append(f"{where}: `headers` must map names to strings")
        methods = route.get("methods")
        if methods is not None and not (isinstance(methods, list) and all(isinstance(m, str) for m in methods)):
            problems.append(f"{where}: `methods` must be a list of strings")
        status = route.get("status", route.get("statusCode"))
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            problems.append(f"{where}: `status` must be an HTTP status code")
        elif isinstance(status, int) and 300 <= status < 400 and not any(n.lower() == "location" for n in headers):
            problems.append(f"{where}: a {status} route needs a `Location` header")
    return problems


def _handle_problems(where: str, route: Mapping[str, Any], seen: list[str]) -> list[str]:
    handle = route["handle"]
    if set(route) != {"handle"}:
        return [f"{where}: a `handle` marker has no other key"]
    if handle not in HANDLE_PHASES:
        return [f"{where}: `handle: {handle}` is not implemented by the local router (only {', '.join(HANDLE_PHASES)})"]
    if handle in seen:
        return [f"{where}: `handle: {handle}` appears twice (Vercel allows one per phase)"]
    return []


def _phase_problems(where: str, route: Mapping[str, Any], phase: str | None) -> list[str]:
    """routing-utils `normalizeRoutes`' rules for routes after `hit` and `miss`, and ours for `error`."""
    dest = route.get("dest", route.get("destination"))
    status = route.get("status", route.get("statusCode"))
    if phase == "hit" and (dest is not None or status is not None or not route.get("continue")):
        return [f"{where}: after `handle: hit` a route has no `dest` or `status` and needs `continue: true`"]
    if phase == "miss" and (not route.get("check") if dest is not None else not route.get("continue")):
        return [f"{where}: after `handle: miss` a route with `dest` needs `check: true`, one without `continue: true`"]
    if phase == "error" and status is None:
        return [f"{where}: after `handle: error` a route names the status it answers (`status`)"]
    return []


def _function_problems(functions: Any) -> list[str]:
    if not isinstance(functions, Mapping):
        return ["`functions` must be an object"]
    problems: list[str] = []
    for pattern, options in functions.items():
        if not isinstance(options, Mapping):
            problems.append(f"functions[{pattern!r}] must be an object")
            continue
        for key in sorted(set(options) - _FUNCTION_KEYS):
            problems.append(f"functions[{pattern!r}].{key} is not implemented by the local router")
    return problems


def _cron_problems(crons: Any) -> list[str]:
    if not isinstance(crons, list):
        return ["`crons` must be a list"]
    problems: list[str] = []
    for index, cron in enumerate(crons):
        if not isinstance(cron, Mapping) or set(cron) != _CRON_KEYS:
            problems.append(f"crons[{index}] must have exactly `path` and `schedule`")
        elif not isinstance(cron["path"], str) or not cron["path"].startswith("/"):
            problems.append(f"crons[{index}].path must be an absolute path")
    return problems
