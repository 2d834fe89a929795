"""Lists: filters, search, keyset pages in a stable order, a capped page size; the plans use indexes
and a page costs one database round trip on a warm instance (two for a session it has not seen)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.orders import store, views
from lib.orders.schemas import OrderFilters
from lib.orders.store import Scope
from lib.tenancy import Actor, RequestMeta, Role, TenantContext
from scripts.roundtrips import RoundTripProxy
from tests.api.orders.conftest import Shop
from tests.conftest import Database
from tests.order_samples import order_payload

NOON = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 12:00 in Lima


def _ids(shop: Shop, query: str, who: str = "admin") -> list[str]:
    response = shop[who].get(f"/api/orders{query}")
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()["orders"]]


def _newest_first(database: Database, ids: list[Any]) -> list[str]:
    """These orders in the list's order (created_at, id descending), as the database holds them."""
    with database.connect("superuser") as conn:
        rows = conn.execute(
            "SELECT id FROM orders WHERE id = ANY(%s) ORDER BY created_at DESC, id DESC", (ids,)
        ).fetchall()
    return [str(row[0]) for row in rows]


@pytest.fixture
def seeded(shop: Shop) -> dict[str, uuid.UUID]:
    seller, other = shop.accounts["seller"], shop.accounts["other_seller"]
    rider = shop.accounts["logistics"].id
    make = shop.database.create_order
    return {
        "a": make(shop.org, seller, status="pending", customer_name="Ana Quispe", created_at=NOON),
        "b": make(
            shop.org,
            seller,
            status="confirmed",
            customer_name="Bruno Díaz",
            phone="+51912345678",
            ubigeo="150140",
            channel="instagram",
            created_at=NOON - timedelta(days=1),
        ),
        "c": make(
            shop.org,
            other,
            status="dispatched",
            customer_name="Carla Núñez",
            phone="+51923456789",
            rider_id=rider,
            created_at=NOON - timedelta(days=2),
        ),
        "d": make(
            shop.org, other, status="confirmed", customer_name="Ana María Ruiz", created_at=NOON - timedelta(days=2)
        ),
    }


def test_each_filter_returns_exactly_its_orders(shop: Shop, seeded: dict[str, uuid.UUID]) -> None:
    expect = {
        "?status=confirmed": {"b", "d"},
        "?channel=instagram": {"b"},
        "?ubigeo=150140": {"b"},
        f"?seller_id={shop.accounts['other_seller'].id}": {"c", "d"},
        f"?rider_id={shop.accounts['logistics'].id}": {"c"},
        "?payment_status=unpaid": {"a", "b", "c", "d"},
        "?created_from=2026-11-19&created_to=2026-11-19": {"b"},
        "?created_from=2026-11-18&created_to=2026-11-19": {"b", "c", "d"},
        "?status=confirmed&created_from=2026-11-18&created_to=2026-11-18": {"d"},
    }
    names = {str(order_id): key for key, order_id in seeded.items()}
    for query, wanted in expect.items():
        assert {names[i] for i in _ids(shop, query)} == wanted, query


def test_search_by_code_phone_document_and_accent_free_name(shop: Shop, seeded: dict[str, uuid.UUID]) -> None:
    names = {str(order_id): key for key, order_id in seeded.items()}
    number = shop.row(str(seeded["c"]))["number"]
    expect = {
        f"?q={store.order_code(number)}": {"c"},
        f"?q=ped-{number:06d}": {"c"},
        "?q=912 345 678": {"b"},
        "?q=%2B51912345678": {"b"},
        "?q=45678912": {"a", "b", "c", "d"},
        "?q=nunez": {"c"},
        "?q=Núñez": {"c"},
        "?q=ana": {"a", "d"},
        "?q=ana ruiz": {"d"},
        "?q=an": {"a", "d"},  # prefixes match, as one types
        "?q=zzz": set(),
        "?q=a": {"a", "d"},  # one letter has no key: the orders are walked
        "?q=ana q": {"a"},
        "?q=qui ana": {"a"},  # a pair key, nothing left to check
        "?q=mar ana": {"d"},  # a pair key, then "maria" checked
        "?q=ruiz ana maria": {"d"},
        "?q=ma mari": {"d"},  # two prefixes of one word
        "?q=ana ana": {"a", "d"},
        "?q=anab": set(),
        "?q=nunez carl": {"c"},
        "?q=nunez ana": set(),
    }
    for query, wanted in expect.items():
        assert {names[i] for i in _ids(shop, query)} == wanted, query


def test_name_search_pages_walk_every_match_once_newest_first(shop: Shop) -> None:
    seller = shop.accounts["seller"]
    same_moment = NOON - timedelta(hours=5)
    made = [
        shop.database.create_order(shop.org, seller, customer_name=name, created_at=moment)
        for name, moment in [
            ("Zoila Inga Ramos", NOON - timedelta(minutes=1)),
            ("Zoila Quispe", NOON - timedelta(minutes=2)),
            ("Zoila Inga", same_moment),
            ("Inga Zoila Paz", same_moment),
            ("Zoilo Inga", NOON - timedelta(minutes=3)),
            ("Zoila Ingaruca", same_moment),
            ("Rosa Inga", NOON - timedelta(hours=20)),
        ]
    ]
    for query, wanted in {
        "zoila inga": made[:1] + made[2:4] + made[5:6],
        "zoil inga": made[:1] + made[2:6],
        "zoila": made[:4] + made[5:6],
    }.items():
        seen: list[str] = []
        cursor = None
        while True:
            page = shop["admin"].get(f"/api/orders?q={query}&limit=2" + (f"&cursor={cursor}" if cursor else "")).json()
            seen += [order["id"] for order in page["orders"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == _newest_first(shop.database, wanted), query
    pending = shop["admin"].get("/api/orders?q=inga&status=pending&created_from=2026-11-20").json()["orders"]
    assert {order["id"] for order in pending} == {str(order_id) for order_id in made[:1] + made[2:6]}


def test_captured_and_renamed_orders_are_found_by_their_current_name_only(shop: Shop) -> None:
    from lib.orders.name_search import name_keys
    from lib.orders.validation import name_words

    payload = order_payload()
    payload["customer"] = {**payload["customer"], "name": "Ñahui O'Brien-Ríos de la Cruz"}
    created = shop["admin"].post("/api/orders", json=payload)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assert _ids(shop, "?q=nahui obr") == [order_id] and _ids(shop, "?q=cru obrien") == [order_id]

    def stored() -> tuple[list[str], list[str]]:
        with shop.database.connect("superuser") as conn:
            keys = conn.execute("SELECT key FROM order_name_keys WHERE order_id = %s ORDER BY key", (order_id,))
            derived = conn.execute(
                "SELECT DISTINCT key FROM ("
                + _KEYS_OF_WORDS.replace("INSERT INTO order_name_keys (org_id, key, created_at, order_id)", "")
                + ") k "
                "WHERE order_id = %(order)s ORDER BY key",
                {"org": shop.org, "order": order_id},
            )
            return [row[0] for row in keys], [row[0] for row in derived]

    keys, derived = stored()
    assert (
        keys == derived == sorted(name_keys(name_words("Ñahui O'Brien-Ríos de la Cruz")))
    )  # as migration 0006 writes them

    version = {"If-Match": f'"{created.json()["version"]}"'}
    renamed = shop["admin"].patch(
        f"/api/orders/{order_id}", json={"customer": {**payload["customer"], "name": "Zoila Inga"}}, headers=version
    )
    assert renamed.status_code == 200, renamed.text
    assert _ids(shop, "?q=nahui") == [] and _ids(shop, "?q=cruz obrien") == []
    assert _ids(shop, "?q=inga zoi") == [order_id]
    keys, derived = stored()
    assert keys == derived == sorted(name_keys(["zoila", "inga"]))


def test_keyset_pages_walk_every_order_once_in_a_stable_order(shop: Shop) -> None:
    seller = shop.accounts["seller"]
    same_moment = NOON - timedelta(hours=3)  # ties on created_at are broken by id
    made = [shop.database.create_order(shop.org, seller, created_at=NOON - timedelta(minutes=i)) for i in range(4)]
    made += [shop.database.create_order(shop.org, seller, created_at=same_moment) for _ in range(4)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = shop["admin"].get(f"/api/orders{query}").json()
        seen += [order["id"] for order in body["orders"]]
        pages += 1
        if pages == 1:  # an order captured meanwhile does not shift the pages that follow
            shop.database.create_order(shop.org, seller, created_at=NOON + timedelta(hours=1))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 8
    assert seen == _newest_first(shop.database, made)


def test_page_size_is_capped_and_bad_cursors_are_refused(shop: Shop) -> None:
    assert shop["admin"].get("/api/orders?limit=100").status_code == 200
    too_many = shop["admin"].get("/api/orders?limit=101")
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "$.limit"
    forged = shop["admin"].get("/api/orders?cursor=bm90LWEtY3Vyc29y")
    assert forged.status_code == 422 and forged.json()["error"]["code"] == "invalid_cursor"
    assert shop["admin"].get("/api/orders?status=lost").status_code == 422


def test_a_nul_character_in_the_query_is_refused_before_the_database(shop: Shop) -> None:
    """Postgres text cannot hold NUL: a search or a parameter name carrying one is a 422 naming
    where it is, not a database error; the same search without it is served."""
    shop.database.create_order(shop.org, shop.accounts["seller"], customer_name="Rosa Quispe")
    searched = shop["admin"].get("/api/orders?q=ro%00sa")
    assert searched.status_code == 422
    assert searched.json()["error"]["details"][0]["field"] == "$.q"
    named = shop["admin"].get("/api/orders?st%00atus=pending")
    assert named.status_code == 422 and named.json()["error"]["details"][0]["field"] == "$"
    assert len(shop["admin"].get("/api/orders?q=rosa").json()["orders"]) == 1


# --- at scale: plans and round trips --------------------------------------------------------------


# What migration 0006 backfills, as lib.orders.name_search.name_keys writes it (a test below compares them).
_KEYS_OF_WORDS = """
    INSERT INTO order_name_keys (org_id, key, created_at, order_id)
    SELECT w.org_id, left(w.word, n) AS key, o.created_at, w.order_id
    FROM order_name_words w
    JOIN orders o ON o.id = w.order_id
    CROSS JOIN LATERAL generate_series(3, char_length(w.word)) AS n
    WHERE w.org_id = %(org)s
    UNION
    SELECT a.org_id, left(a.word, 3) || ' ' || left(b.word, 3), o.created_at, a.order_id
    FROM order_name_words a
    JOIN order_name_words b ON b.org_id = a.org_id AND b.order_id = a.order_id AND left(a.word, 3) < left(b.word, 3)
    JOIN orders o ON o.id = a.order_id
    WHERE a.org_id = %(org)s AND char_length(a.word) >= 3 AND char_length(b.word) >= 3
"""


def _fill(database: Database, name: str, count: int) -> tuple[uuid.UUID, uuid.UUID]:
    """An organization with `count` orders over the last year: statuses, districts, sellers, names."""
    org = database.create_org(name)
    sellers = [database.create_user(org, "SELLER").id for _ in range(3)]
    with database.connect("owner") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org),))
        [customer] = conn.execute(
            "INSERT INTO customers (org_id, name, phone, document_type, document_number) "
            "VALUES (%s, 'Cliente', '+51987000000', 'DNI', '12345678') RETURNING id",
            (org,),
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            """
            INSERT INTO orders (org_id, number, customer_id, customer_name, search_name, customer_phone, document_type,
                document_number, department, province, district, ubigeo, address_line, channel, seller_id, status,
                subtotal_cents, total_cents, created_at)
            SELECT %(org)s, n, %(customer)s, name, name, '+51987' || lpad(n::text, 6, '0'),
                'DNI', lpad(n::text, 8, '0'), 'Lima', 'Lima', 'Distrito', '1501' || lpad((mod(n, 43) + 1)::text, 2, '0'),
                'Calle ' || n, (ARRAY['whatsapp','instagram','facebook','web_store'])[mod(n, 4) + 1],
                (%(sellers)s::uuid[])[mod(n, 3) + 1],
                (ARRAY['pending','confirmed','preparing','ready','dispatched','delivered','cancelled'])[mod(n, 7) + 1],
                1000, 1000, now() - (n || ' minutes')::interval * 17
            FROM generate_series(1, %(count)s) AS n,
                 LATERAL (SELECT (ARRAY['rosa','juan','maria','luis','carmen','jose','ana','pedro','julia','jorge',
                                        'elena','miguel','sofia','victor','lucia','raul','diana','oscar','pilar',
                                        'hugo'])[mod(n, 20) + 1] || ' ' ||
                                 (ARRAY['quispe','mamani','huaman','flores','garcia','rojas','vargas','chavez',
                                        'ramos','torres','diaz','castillo','mendoza','cruz','ruiz','salazar',
                                        'gutierrez','paredes','cardenas','vega','leon','rios','soto','ortiz',
                                        'medina','aguilar','silva','reyes','morales','campos'])[mod(n / 20, 30) + 1]
                         AS name) AS person
            """,
            {"org": org, "customer": customer, "sellers": sellers, "count": count},
        )
        conn.execute(
            "INSERT INTO order_name_words (org_id, order_id, word) "
            "SELECT org_id, id, unnest(string_to_array(search_name, ' ')) FROM orders WHERE org_id = %s",
            (org,),
        )
        conn.execute(_KEYS_OF_WORDS, {"org": org})
        conn.execute("UPDATE organizations SET next_order_number = %s WHERE id = %s", (count + 1, org))
    return org, sellers[0]


@pytest.fixture(scope="module")
def big_org(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """30,000 orders in the organization searched, 120,000 more in another: the table is large
    enough that reading it whole costs what it would in production, so plans are realistic."""
    measured = _fill(database, "Tienda Grande", 30_000)
    _fill(database, "Tienda Vecina", 120_000)
    with database.connect("superuser", autocommit=True) as conn:
        conn.execute("ANALYZE orders")
        conn.execute("ANALYZE order_name_words")
        conn.execute("ANALYZE order_name_keys")
    return measured


def _plan(database: Database, org: uuid.UUID, filters: OrderFilters, scope: Scope) -> dict[str, Any]:
    from lib.db.engine import get_engine

    ctx = TenantContext(
        org, Actor(uuid.uuid4(), Role.ADMIN), RequestMeta(request_id="plan", client_ip=None, user_agent=None)
    )
    statement, params = store.page_statement(ctx, scope, filters, None, 51, columns=views.SUMMARY_COLUMNS)
    compiled = statement.compile(dialect=get_engine().dialect)
    with database.connect("app") as conn:
        conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org),))
        [[plan]] = conn.execute("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.construct_params(params)).fetchall()
    result: dict[str, Any] = plan[0]["Plan"]
    return result


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "dispatched"},
        {"ubigeo": "150107"},
        {"channel": "instagram"},
        {"status": "confirmed", "created_from": "2026-09-01", "created_to": "2026-09-30"},
        {"q": "quispe"},
        {"q": "rosa mam"},
        {"q": "987012345"},
        {"q": "PED-012345"},
    ],
    ids=json.dumps,
)
def test_list_queries_use_indexes_at_scale(
    database: Database, big_org: tuple[uuid.UUID, uuid.UUID], filters: dict[str, Any]
) -> None:
    import msgspec

    org, _ = big_org
    plan = _plan(database, org, msgspec.convert(filters, OrderFilters, strict=False), Scope("all"))
    nodes = list(_nodes(plan))
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], json.dumps(plan, indent=1)
    assert [n for n in nodes if "Index" in n["Node Type"]], json.dumps(plan, indent=1)


def test_a_sellers_list_uses_an_index_too(database: Database, big_org: tuple[uuid.UUID, uuid.UUID]) -> None:
    org, seller = big_org
    plan = _plan(database, org, OrderFilters(), Scope("own", seller))
    assert not [n for n in _nodes(plan) if n["Node Type"] == "Seq Scan"]


def test_a_list_page_costs_one_round_trip_on_a_warm_instance(
    shop: Shop, seeded: dict[str, uuid.UUID], round_trips: RoundTripProxy
) -> None:
    client = shop["admin"]
    for _ in range(2):  # warm: the pool's connections are open, the session is remembered
        assert client.get("/api/orders?status=confirmed").status_code == 200
    for query in ("?status=confirmed", "?q=ana&limit=2", "?created_from=2026-11-18"):
        with round_trips.counting() as count:
            response = client.get(f"/api/orders{query}")
        assert response.status_code == 200
        assert count.value == 1, (query, count.value)
    # The proxy does count: a capture (a write transaction) takes more than two.
    with round_trips.counting() as count:
        assert client.post("/api/orders", json=order_payload()).status_code == 201
    assert count.value > 2


def test_the_app_role_cannot_bypass_row_security_for_lists(
    database: Database, big_org: tuple[uuid.UUID, uuid.UUID]
) -> None:
    org, _ = big_org
    with database.connect("app") as conn:
        [[visible]] = conn.execute("SELECT count(*) FROM orders WHERE org_id = %s", (org,)).fetchall()
    assert visible == 0  # no app.org_id set: row security shows nothing
