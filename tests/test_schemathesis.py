"""schemathesis, with all its checks, against the local runtime over real HTTP.

The server is the one ./scripts/dev runs (router, OpenAPI page), on an ephemeral port, in this
process so it shares the test database. The CLI runs as a user would run it, twice:

1. anonymous (with the cron secret): every signed-in route must answer 401, public ones must
   conform;
2. signed in as the ADMIN of one organization, with the ADMIN of another declared as a peer
   (Web Fuzzing Commons auth, logging in through /api/auth/login): schemathesis also replays
   each successful read as the peer and fails if the other organization gets the object
   (object-level authorization, ASVS V8.2.2). Logging out and requiring MFA for the whole
   organization are left out of this run: they would end the very sessions it tests with (and
   logging in is fuzzed by the first run: its failures here would lock the peers out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.devserver import OPENAPI_PATH, build_local_app
from tests.conftest import Database
from tests.servers import serve

ROOT = Path(__file__).resolve().parent.parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module")
def live_server(database: Any) -> Iterator[str]:
    with serve(build_local_app(ROOT), lifespan="on") as url:
        yield url


def run(url: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}{OPENAPI_PATH}",
            "--header",
            f"Authorization: Bearer {os.environ['CRON_SECRET']}",
            "--checks",
            "all",
            "--max-examples",
            "30",
            "--seed",
            "20261124",
            *extra,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def assert_no_failures(result: subprocess.CompletedProcess[str]) -> None:
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "failure" not in summary and "error" not in summary, summary


def test_anonymous_run_finds_no_issue(live_server: str, tmp_path: Path) -> None:
    # Warnings are expected here: without a session, signed-in routes only ever answer 401.
    assert_no_failures(run(live_server, tmp_path))


# What JSON Schema cannot say, said to schemathesis, each with its reason. Everything it can say
# the document says itself: required If-Match headers and their 428, integers (5.0 is one), a
# lookup's "a phone, or a document type and number" (anyOf), every status each operation answers.
# - whether a phone exists (libphonenumber), a RUC's check digit, a real ubigeo, a rider who is an
#   active LOGISTICS user of the organization, an amount that fits what an order still owes: the
#   server checks them, so a schema-valid body can still be a 422 with the field named
#   (tests/api/orders/test_capture.py, tests/api/payments have each case);
# - a CSV upload is a string to the schema; an empty or header-less one is a 422;
# - a list cursor is an opaque token the server issued: any other string is a 422;
# - a Zeus portal must be on a host of ZEUS_PORTAL_HOSTS, a setting of the deployment;
# - a missing If-Match is 428 Precondition Required (RFC 6585), which schemathesis does not expect
#   for a missing header by default.
DOMAIN_RULES = """
[[operations]]
include-path = "/api/orders"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422, 429]

[[operations]]
include-path = "/api/orders"
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 422, 429]

[[operations]]
include-path = "/api/orders/{id}"
include-method = "PATCH"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422, 428, 429]

[[operations]]
include-path = "/api/customers/lookup"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 422, 429]

[[operations]]
include-path = "/api/orders/imports"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 422, 429]

[[operations]]
include-path = "/api/orders/{id}/payments"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422, 429]

[[operations]]
include-path = "/api/orders/{id}/cash_collections"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422, 429]

[[operations]]
include-path-regex = "^/api/payments/"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 413, 415, 422, 428, 429]

[[operations]]
include-path-regex = "^/api/settlements"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422, 428, 429]

[[operations]]
include-path = "/api/customers/{id}/anonymise"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 429]

[[operations]]
include-path-regex = "^/api/integrations/"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 422, 429]

[[operations]]
include-path-regex = "^/api/orders/[^/]+/shipment"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 429]

[checks.missing_required_header]
expected-statuses = [400, 401, 403, 406, 415, 422, 428]
"""


def _peer(name: str, email: str, password: str) -> dict[str, Any]:
    payload = json.dumps({"email": email, "password": password})
    login = {
        "endpoint": "/api/auth/login",
        "verb": "POST",
        "contentType": "application/json",
        "payloadRaw": payload,
        "expectCookies": True,
    }
    return {"name": name, "loginEndpointAuth": login}


def test_signed_in_run_with_a_peer_from_another_organization_finds_no_issue(
    live_server: str, database: Database, tmp_path: Path
) -> None:
    first = database.create_user(database.create_org("Primera"), "ADMIN")
    second = database.create_user(database.create_org("Segunda"), "ADMIN")
    database.create_user(first.org_id, "SELLER")
    database.create_user(second.org_id, "SELLER")
    peers = [_peer("primera", first.email, first.password), _peer("segunda", second.email, second.password)]
    (tmp_path / "wfc.json").write_text(json.dumps({"auth": peers}))
    (tmp_path / "schemathesis.toml").write_text(
        '[auth.wfc]\npath = "wfc.json"\nuser = "primera"\npeers = ["primera", "segunda"]\n' + DOMAIN_RULES
    )
    with database.connect("superuser") as conn:  # the anonymous run's failed logins locked 127.0.0.1
        conn.execute("DELETE FROM auth_throttle")
    # Logging in is fuzzed by the anonymous run; here its failures would lock 127.0.0.1 out.
    result = run(
        live_server,
        tmp_path,
        "--exclude-path",
        "/api/auth/logout",
        "--exclude-path",
        "/api/auth/login",
        "--exclude-operation-id",
        "patch_api_organization",
    )
    assert_no_failures(result)
    assert "Authentication failed" not in result.stdout, result.stdout[-6000:]
