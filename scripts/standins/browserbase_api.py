"""A local fake of the Browserbase sessions API, with a real local Chromium behind every session.

Zentro drives the Zeus portal through Browserbase: the official `browserbase` SDK creates a
session, lib/zeus/cdp connects to its `connectUrl` over CDP, and the session is released when the
job ends. This fake answers the same SDK (1.22) over real HTTP, so that code path runs unchanged
in tests and in the dev server, with `base_url` pointed here.

What it models (requests as browserbase/resources/sessions/sessions.py sends them, answers as
browserbase/types/session*.py parse them):

- every request: `X-BB-API-Key: <key>`; missing or different -> 401 JSON, which the SDK raises
  as `AuthenticationError`;
- `POST /v1/sessions`, camelCase JSON (`projectId`, `timeout`, `userMetadata`, `keepAlive`,
  `region`, ...): another project -> 404 JSON (`NotFoundError`); a `timeout` outside 60..21600
  -> 400. Otherwise a FRESH headless Chromium is launched (a new profile: sessions never share
  cookies) and the answer is 201 with the session, status RUNNING, `connectUrl` the browser's
  CDP WebSocket URL;
- `GET /v1/sessions/{id}` -> the session (404 JSON if unknown);
- `POST /v1/sessions/{id}` with `{"status": "REQUEST_RELEASE"}` -> the browser is closed and the
  session COMPLETED, with `endedAt`; releasing again changes nothing. Unknown id -> 404.

A session has every field the SDK's models require (`id`, `createdAt`, `expiresAt`, `keepAlive`,
`projectId`, `proxyBytes`, `region`, `startedAt`, `status`, `updatedAt`; on create also
`connectUrl`, `seleniumRemoteUrl`, `signingKey`), datetimes in ISO 8601 UTC with a `Z`.

Not modeled: session timeouts (nothing ends a session but a release or `close()`), contexts,
extensions, proxies, live URLs, recordings, listing. Note that the SDK retries 408/409/429/5xx
answers by itself (`max_retries`, 2 by default): a `fail_next_create` of 503 is seen by a
client with retries as one slower success, and counted in `create_requests` twice.

Knobs and records: `fail_next_create` (a status answered once, instead of creating, then reset
to 0), `crash_next_browser` (the next session is created, but its browser is gone before anyone
connects: its connectUrl refuses connections; then reset), `create_requests` (every
`POST /v1/sessions` seen), `sessions` (every session created, in order). `close()` ends every
browser still running; a fixture calls it at teardown.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scripts.standins.chromium import ChromiumProcess, launch_chromium

RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
REQUEST_RELEASE = "REQUEST_RELEASE"
_DEFAULT_REGION = "us-west-2"
_REGIONS = frozenset({"us-west-2", "us-east-1", "eu-central-1", "ap-southeast-1"})
_DEFAULT_TIMEOUT_SECONDS = 3600
_TIMEOUT_RANGE = range(60, 21601)
_ERROR_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class FakeSession:
    """One session the fake created. `chromium` stays set after release (closed), for inspection."""

    id: str
    sequence: int  # 1 for the first session this fake created, then 2, ...
    project_id: str
    user_metadata: dict[str, Any] | None
    keep_alive: bool
    region: str
    timeout: int
    chromium: ChromiumProcess = field(repr=False)
    signing_key: str = field(repr=False)
    status: str = RUNNING
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None

    @property
    def connect_url(self) -> str:
        return self.chromium.ws_url

    def as_json(self) -> dict[str, Any]:
        """The session as the API sends it (camelCase, ISO datetimes)."""
        return {
            "id": self.id,
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
            "startedAt": _iso(self.created_at),
            "endedAt": _iso(self.ended_at) if self.ended_at is not None else None,
            "expiresAt": _iso(self.created_at + timedelta(seconds=self.timeout)),
            "projectId": self.project_id,
            "status": self.status,
            "keepAlive": self.keep_alive,
            "proxyBytes": 0,
            "region": self.region,
            "contextId": None,
            "userMetadata": self.user_metadata,
            "connectUrl": self.connect_url,
            "seleniumRemoteUrl": f"{self.chromium.http_url}/webdriver",
            "signingKey": self.signing_key,
        }


class FakeBrowserbase:
    """The sessions API of one Browserbase project. Serve `.app`; call `close()` when done."""

    def __init__(self, api_key: str, project_id: str, chromium_path: str | None = None) -> None:
        self.api_key = api_key
        self.project_id = project_id
        self.chromium_path = chromium_path
        self.sessions: dict[str, FakeSession] = {}
        self.fail_next_create = 0
        self.crash_next_browser = False
        self.create_requests = 0
        self._closed = False
        self._lock = threading.Lock()

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/sessions", self._create, methods=["POST"]),
                Route("/v1/sessions/{id}", self._retrieve, methods=["GET"]),
                Route("/v1/sessions/{id}", self._update, methods=["POST"]),
            ]
        )

    def running(self) -> list[str]:
        """Ids of the sessions not released, oldest first."""
        with self._lock:
            return [s.id for s in self.sessions.values() if s.status == RUNNING]

    def released(self) -> list[str]:
        """Ids of the sessions released (COMPLETED), oldest first."""
        with self._lock:
            return [s.id for s in self.sessions.values() if s.status == COMPLETED]

    def close(self) -> None:
        """End every browser still running and refuse new sessions. Idempotent."""
        with self._lock:
            self._closed = True
            browsers = [s.chromium for s in self.sessions.values()]
        for chromium in browsers:
            chromium.close()

    # --- endpoints ----------------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        with self._lock:
            self.create_requests += 1
            failure, self.fail_next_create = self.fail_next_create, 0
        if failure:
            return _error(failure, "The fake was told to fail this request")
        if not self._authorised(request):
            return _error(401, "Invalid API key")
        body = await _json_object(request)
        if body is None:
            return _error(400, "The request body must be a JSON object")
        project_id = body.get("projectId", self.project_id)
        if project_id != self.project_id:
            return _error(404, f"Project {project_id} not found")
        timeout = body.get("timeout", _DEFAULT_TIMEOUT_SECONDS)
        if not isinstance(timeout, int) or timeout not in _TIMEOUT_RANGE:
            return _error(400, "timeout must be an integer between 60 and 21600")
        region = body.get("region", _DEFAULT_REGION)
        if region not in _REGIONS:
            return _error(400, f"Unknown region {region}")
        metadata = body.get("userMetadata")
        if metadata is not None and not isinstance(metadata, dict):
            return _error(400, "userMetadata must be an object")

        chromium = await run_in_threadpool(launch_chromium, self.chromium_path)
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                session = FakeSession(
                    id=str(uuid.uuid4()),
                    sequence=len(self.sessions) + 1,
                    project_id=project_id,
                    user_metadata=metadata,
                    keep_alive=bool(body.get("keepAlive", False)),
                    region=region,
                    timeout=timeout,
                    chromium=chromium,
                    signing_key=secrets.token_urlsafe(24),
                )
                self.sessions[session.id] = session
                answer = session.as_json()
        if closed:
            await run_in_threadpool(chromium.close)
            return _error(503, "The fake is shutting down")
        with self._lock:
            crash, self.crash_next_browser = self.crash_next_browser, False
        if crash:  # the session exists, but nothing answers at its connectUrl
            await run_in_threadpool(chromium.close)
        return JSONResponse(answer, status_code=201)

    async def _retrieve(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, "Invalid API key")
        with self._lock:
            session = self.sessions.get(request.path_params["id"])
            if session is None:
                return _error(404, "Session not found")
            return JSONResponse(session.as_json())

    async def _update(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, "Invalid API key")
        body = await _json_object(request)
        if body is None:
            return _error(400, "The request body must be a JSON object")
        if body.get("status") != REQUEST_RELEASE:
            return _error(400, "status must be REQUEST_RELEASE")
        with self._lock:
            session = self.sessions.get(request.path_params["id"])
            if session is None or body.get("projectId", session.project_id) != session.project_id:
                return _error(404, "Session not found")
        await run_in_threadpool(session.chromium.close)
        with self._lock:
            if session.status != COMPLETED:
                now = datetime.now(UTC)
                session.status = COMPLETED
                session.ended_at = now
                session.updated_at = now
            return JSONResponse(session.as_json())

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("x-bb-api-key", "")
        return secrets.compare_digest(given.encode(), self.api_key.encode())


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, message: str) -> Response:
    body = {"statusCode": status, "error": _ERROR_NAMES.get(status, "Error"), "message": message}
    return JSONResponse(body, status_code=status)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
