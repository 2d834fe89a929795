"""POST /api/integrations/zeus/test: log in to the portal with the stored credentials (ADMIN).

The login runs in a Browserbase session, like the shipment jobs; the outcome (ok, or the problem
code) is kept on the integration, audited, and returned.
"""

from datetime import UTC, datetime

from lib import integrations
from lib.http import Call, Operation, Reply, function_app, requires, tagged
from lib.integrations import Integration
from lib.permissions import Permission


def run(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    return tagged(integrations.test_connection(ctx, "zeus", datetime.now(UTC)))


app = function_app(
    "/api/integrations/zeus/test",
    Operation(
        "POST",
        run,
        access=requires(Permission.INTEGRATIONS_MANAGE),
        response=Integration,
        errors=(404, 409),
        summary="Test the Zeus credentials by logging in",
    ),
)
