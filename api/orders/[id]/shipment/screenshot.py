"""GET /api/orders/{id}/shipment/screenshot: the portal page a failed Zeus registration left.

Kept in private storage when a shipment needs review, served only through this function, as a
download (never rendered inline), sandboxed, never cached.
"""

from lib.http import PRIVATE_DOWNLOAD_HEADERS, Call, Operation, Reply, Stream, function_app, requires
from lib.permissions import Permission
from lib.zeus import review


def download(call: Call[None, None]) -> Reply:
    ctx, _ = call.require_tenant()
    shot = review.screenshot(ctx, call.path_uuid())
    body = Stream(iter((shot.data,)), media_type="image/png", filename=shot.filename)
    return Reply(body=body, headers={**PRIVATE_DOWNLOAD_HEADERS, "Content-Length": str(len(shot.data))})


app = function_app(
    "/api/orders/{id}/shipment/screenshot",
    Operation(
        "GET",
        download,
        access=requires(Permission.SHIPMENTS_MANAGE),
        streams="image/png",
        errors=(503,),
        summary="Download the screenshot of a failed Zeus registration",
    ),
)
