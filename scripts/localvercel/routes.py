"""The route table `vercel build` compiles, generated from vercel.json and the api/ tree.

Observed with CLI 64.0.2 (and kept honest by tests/test_router_parity.py, which compares this
table with the real `.vercel/output/config.json`), a project with Python functions gets these
zero-config routes:

    {"handle": "filesystem"}
    <one route per dynamic function, most path segments first>
    {"src": "^/api(/.*)?$", "status": 404}          hides the list of function names
    {"handle": "error"}
    {"status": 404, "src": "^(?!/api).*$", "dest": "/404.html"}
    {"handle": "miss"}
    {"src": "^/api/(.+)(?:\\.(?:py))$", "dest": "/api/$1", "check": true}   /api/x.py -> /api/x

merged with vercel.json's routes (`src` anchored with ^...$) as routing-utils `mergeRoutes` does:
phase by phase, in the order the phases first appear in vercel.json then in the zero-config
routes; within a phase, zero-config `continue` routes, then vercel.json's, then zero-config
`check` routes, then the rest. A `handle` marker is written only for a phase that has routes.

The dynamic routes follow @vercel/fs-detectors `createRouteFromPath`: `api/orders/[id].py` gives
`^/api/orders/([^/]+)$ -> /api/orders/[id]?id=$1`, nested `[id]/` directories work the same, and
a plain last segment accepts `x`, `x/` and `x.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from scripts.localvercel.config import ROUTE_ALIASES, VercelConfigError, load_vercel_json, validate_vercel_config
from scripts.localvercel.project import ProjectFiles, param_name, scan_project, validate_project

Route = dict[str, Any]

_ESCAPED = "[]^$.|?*+()"
# ICU root collation (what JavaScript's localeCompare uses) puts punctuation before digits
# before letters, and compares letters case-insensitively first. This order is enough for the
# characters that appear in file names; route order only matters between dynamic routes that
# can match the same path.
_PUNCTUATION_ORDER = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"


def normalize_route(raw: Mapping[str, Any]) -> Route:
    """routing-utils `normalizeRoutes`: aliases to short keys, `src` anchored, `\\/` -> `/`."""
    if "handle" in raw:
        return dict(raw)
    route: Route = {ROUTE_ALIASES.get(key, key): value for key, value in raw.items()}
    src = str(route["src"])
    if not src.startswith("^"):
        src = "^" + src
    if not src.endswith("$"):
        src = src + "$"
    route["src"] = src.replace("\\/", "/")
    return route


def _parse_name(segment: str) -> tuple[str, str]:
    """Node's path.parse(segment) -> (name, ext)."""
    dot = segment.rfind(".")
    if dot <= 0:
        return segment, ""
    return segment[:dot], segment[dot:]


def _escape(name: str) -> str:
    return "".join("\\" + char if char in _ESCAPED else char for char in name)


def dynamic_route(file: str) -> Route | None:
    """The filesystem-phase route for one function file, or None for a static path."""
    parts = file.split("/")
    query: list[str] = []
    src_parts: list[str] = []
    for index, segment in enumerate(parts):
        name = param_name(segment)
        if name is not None:
            query.append(f"{name}=${len(query) + 1}")
            src_parts.append("([^/]+)")
        elif index == len(parts) - 1:
            stem, ext = _parse_name(segment)
            if stem == "index":
                src_parts.append(f"(/|/{_escape(stem)}|/{_escape(stem)}{_escape(ext)})?")
            else:
                src_parts.append(f"({stem}/|{_escape(stem)}|{_escape(stem)}{_escape(ext)})")
        else:
            src_parts.append(segment)
    if not query:
        return None
    stem, ext = _parse_name(parts[-1])
    # An index file's last part carries its own optional leading slash: `/api/orders(/|/index|...)?`.
    joined = "/".join(src_parts[:-1]) + src_parts[-1] if stem == "index" else "/".join(src_parts)
    src = f"^/{joined}$"
    return {"src": src, "dest": "/" + file[: len(file) - len(ext)] + "?" + "&".join(query), "check": True}


def _collation_key(text: str) -> tuple[tuple[tuple[int, int], ...], str, str]:
    def primary(char: str) -> tuple[int, int]:
        if char in _PUNCTUATION_ORDER:
            return (0, _PUNCTUATION_ORDER.index(char))
        if char.isdigit():
            return (1, ord(char))
        return (2, ord(char.lower())) if char.isalpha() else (0, 100 + ord(char))

    return tuple(primary(char) for char in text), text.swapcase(), text


def _compare_segment_count(a: str, b: str) -> int:
    """fs-detectors `sortFilesBySegmentCount`: deeper paths first, fewer trailing placeholders first."""
    depth_a, depth_b = a.count("/"), b.count("/")
    if depth_a != depth_b:
        return -1 if depth_a > depth_b else 1

    def trailing_placeholders(path: str) -> int:
        count = 0
        for segment in path.split("/"):
            count = count + 1 if param_name(segment) is not None else 0
        return count

    placeholders_a, placeholders_b = trailing_placeholders(a), trailing_placeholders(b)
    if placeholders_a != placeholders_b:
        return 1 if placeholders_a > placeholders_b else -1
    key_a, key_b = _collation_key(a), _collation_key(b)
    return (key_a > key_b) - (key_a < key_b)


def zero_config_routes(function_files: Iterable[str]) -> list[Route]:
    """The routes `vercel build` derives from the files alone, with their `handle` markers."""
    files = sorted(function_files, key=functools.cmp_to_key(_compare_segment_count))
    routes: list[Route] = [{"handle": "filesystem"}]
    routes.extend(route for route in map(dynamic_route, files) if route is not None)
    if files:
        routes.append({"src": "^/api(/.*)?$", "status": 404})
    routes.append({"handle": "error"})
    routes.append({"status": 404, "src": "^(?!/api).*$", "dest": "/404.html"})
    if files:
        routes.append({"handle": "miss"})
        routes.append({"src": "^/api/(.+)(?:\\.(?:py))$", "dest": "/api/$1", "check": True})
    return routes


def _by_phase(routes: Iterable[Route]) -> dict[str | None, list[Route]]:
    """Routes grouped under the `handle` that precedes them; a phase counts once it has a route."""
    phases: dict[str | None, list[Route]] = {}
    current: str | None = None
    for route in routes:
        if "handle" in route:
            current = route["handle"]
        else:
            phases.setdefault(current, []).append(route)
    return phases


def merge_routes(user: Iterable[Route], zero_config: Iterable[Route]) -> list[Route]:
    """routing-utils `mergeRoutes` for vercel.json's routes and one builder's (the zero-config ones)."""
    mine, theirs = _by_phase(user), _by_phase(zero_config)
    table: list[Route] = []
    for phase in dict.fromkeys([None, *mine, *theirs]):
        own, built = mine.get(phase, []), theirs.get(phase, [])
        if phase is not None and (own or built):
            table.append({"handle": phase})
        checks = [route for route in built if route.get("check")]
        continues = [route for route in built if route.get("continue") and not route.get("check")]
        others = [route for route in built if not route.get("check") and not route.get("continue")]
        table.extend([*continues, *own, *checks, *others])
    return table


def build_route_table(config: Mapping[str, Any], function_files: Iterable[str]) -> list[Route]:
    """The full compiled route list for this vercel.json and these function files."""
    user = [normalize_route(route) for route in config.get("routes", [])]
    return merge_routes(user, zero_config_routes(function_files))


def load_project(root: Path) -> tuple[dict[str, Any], ProjectFiles, list[Route]]:
    """vercel.json, the project's files and its route table; raises VercelConfigError on any problem."""
    config = load_vercel_json(root)
    project = scan_project(root)
    problems = validate_vercel_config(config) + validate_project(project, config)
    if problems:
        raise VercelConfigError(problems)
    return config, project, build_route_table(config, project.function_files)


def routes_equal(a: Iterable[Mapping[str, Any]], b: Iterable[Mapping[str, Any]]) -> bool:
    """Route lists compare as JSON values: key order inside a route does not matter."""
    return [dict(route) for route in a] == [dict(route) for route in b]
