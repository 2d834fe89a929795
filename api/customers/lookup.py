"""POST /api/customers/lookup: find a returning customer by phone or document.

A POST so that phones and document numbers never travel in a URL (logs, proxies).
"""

from lib.http import Call, Operation, function_app, requires
from lib.orders import service
from lib.orders.schemas import Customer, CustomerLookup
from lib.permissions import Permission


def lookup(call: Call[CustomerLookup, None]) -> Customer:
    ctx, _ = call.require_tenant()
    return service.lookup_customer(ctx, call.body)


app = function_app(
    "/api/customers/lookup",
    Operation(
        "POST",
        lookup,
        access=requires(Permission.CUSTOMERS_LOOKUP),
        body=CustomerLookup,
        response=Customer,
        errors=(404,),
        summary="Find a customer by phone or document",
    ),
)
