"""Orders in a CSV file: the columns a merchant's spreadsheet export has, read and checked.

One row per item; the order's own columns repeat on each of its rows (or are left blank after
the first) and rows belong to the same order when they share `external_ref`. Headers may be
in English or Spanish (`telefono`, `cantidad`, ...), in any order, any case, with or without
accents; cells are trimmed. The file must be UTF-8 (a BOM is fine: Excel's "CSV UTF-8"), with
commas, semicolons or tabs between cells (Excel in Spanish saves with semicolons).

Money cells are amounts in the currency (`12.50`, `12,50`, `1,234.50`), converted to cents
exactly; a fourth decimal is refused, never rounded. Dates are `2026-11-25` or `25/11/2026`,
from 2000-01-01 to 2100-12-31 like every date a request carries. Ubigeo cells that lost their
leading zero in a spreadsheet (`10101`) get it back.

Every problem found is reported with its row (the header is row 1, as a spreadsheet numbers
them), its column and a message in the caller's language; nothing here touches the database.
The README lists the columns.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from msgspec import inspect

from lib.http.errors import ApiError, ErrorDetail
from lib.http.messages import Language
from lib.http.schemas import within_bounds
from lib.orders.problems import Problem, Problems
from lib.orders.schemas import AddressIn, CustomerIn, ItemIn, OrderIn
from lib.orders.validation import NewOrder, check_order

MAX_ROWS = 20_000
MAX_REPORTED = 500  # problems listed in one answer; the count says how many there were

Expected = tuple[str, str]  # what a cell should hold, in Spanish and English


class CellError(ValueError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    parse: Callable[[str], Any]
    expected: Expected
    required: bool = False
    per_item: bool = False  # varies row by row within an order


# --- cell parsers --------------------------------------------------------------------------------


def _fold(value: str) -> str:
    """'Tienda Web' -> 'tienda_web', 'Teléfono' -> 'telefono'."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return "_".join(plain.lower().replace("-", " ").replace("/", " ").split())


def _limits(schema: type, name: str) -> inspect.StrType:
    """The string constraints a schema declares for a field: one definition for JSON and CSV."""
    info = inspect.type_info(schema)
    if not isinstance(info, inspect.StructType):
        raise TypeError(f"{schema.__name__} is not a struct")
    for struct_field in info.fields:
        if struct_field.name == name:
            kinds = (
                struct_field.type.types if isinstance(struct_field.type, inspect.UnionType) else (struct_field.type,)
            )
            for kind in kinds:
                if isinstance(kind, inspect.Metadata):  # a described field: the type is inside
                    kind = kind.type
                if isinstance(kind, inspect.StrType):
                    return kind
    raise LookupError(f"{schema.__name__}.{name} is not a string field")


def text_cell(schema: type, name: str) -> Callable[[str], str]:
    """A text cell held to the constraints `schema` declares for `name`."""
    limits = _limits(schema, name)
    pattern = re.compile(limits.pattern) if limits.pattern else None

    def parse(raw: str) -> str:
        if limits.max_length is not None and len(raw) > limits.max_length:
            raise CellError("too_long", max=limits.max_length)
        if len(raw) < (limits.min_length or 0) or (pattern is not None and not pattern.search(raw)):
            raise CellError("invalid_value")
        return raw

    return parse


def _choice(choices: dict[str, str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        found = choices.get(_fold(raw))
        if found is None:
            raise CellError("invalid_value")
        return found

    return parse


_CHANNELS = {
    **{
        channel: channel for channel in ("whatsapp", "instagram", "facebook", "tiktok", "marketplace", "phone", "other")
    },
    "web_store": "web_store",
    "web": "web_store",
    "tienda_web": "web_store",
    "tienda_online": "web_store",
    "wsp": "whatsapp",
    "wa": "whatsapp",
    "ig": "instagram",
    "fb": "facebook",
    "telefono": "phone",
    "llamada": "phone",
    "otro": "other",
    "otros": "other",
}
_DOCUMENT_TYPES = {
    "dni": "DNI",
    "ruc": "RUC",
    "foreign": "FOREIGN",
    "ce": "FOREIGN",
    "carne_de_extranjeria": "FOREIGN",
    "extranjero": "FOREIGN",
    "pasaporte": "FOREIGN",
    "passport": "FOREIGN",
}
_CURRENCIES = {"pen": "PEN", "s": "PEN", "s.": "PEN", "soles": "PEN", "usd": "USD", "us$": "USD", "dolares": "USD"}
_YES = frozenset({"si", "s", "yes", "y", "true", "1", "x"})
_NO = frozenset({"no", "n", "false", "0"})
_MAX_CENTS = 100_000_000_00


_GROUPED = {  # thousands separator -> an amount written with it (and the other as decimal mark)
    ",": re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$"),  # 1,234.50 / 1,234,567
    ".": re.compile(r"^[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$"),  # 1.234,50 / 1.234.567
}
_PLAIN_AMOUNT = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")  # 12 / 12.5 / 12,50


def money(raw: str) -> int:
    """An amount in the currency to exact cents: '49.90', '49,90', '1,234.50', '1.234,50'.

    Nothing is guessed: '1.234' or '1,234' alone could be a thousand or a bit over one, so it
    is refused as ambiguous; exponents, signs and stray separators are refused; so is a third
    decimal, never rounded.
    """
    value = raw.replace(" ", "").removeprefix("S/").removeprefix("US$").removeprefix("$")
    marks = [char for char in value if char in ",."]
    thousands = marks[0] if marks and (len(set(marks)) == 2 or len(marks) > 1) else None
    if thousands is not None:
        if not _GROUPED[thousands].match(value):
            raise CellError("invalid_value")
        value = value.replace(thousands, "").replace(",", ".")
    elif not _PLAIN_AMOUNT.match(value):
        raise CellError("invalid_value")
    elif marks and re.match(r"^[1-9][0-9]{0,2}[.,][0-9]{3}$", value):  # a thousands group, or 3 decimals?
        raise CellError("ambiguous_amount")
    else:
        value = value.replace(",", ".")
    cents = Decimal(value) * 100
    if cents != cents.to_integral_value():
        raise CellError("too_many_decimals")
    if cents > _MAX_CENTS:
        raise CellError("invalid_value")
    return int(cents)


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = raw.replace(" ", "")
        if value.endswith((".0", ",0")):
            value = value[:-2]
        if not value.isdigit() or not low <= int(value) <= high:
            raise CellError("invalid_value")
        return int(value)

    return parse


def _coordinate(limit: int) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise CellError("invalid_value") from None
        if not -limit <= value <= limit:
            raise CellError("invalid_value")
        return value

    return parse


def day(raw: str) -> date:
    """'2026-11-25' or '25/11/2026' (day first, as Peru writes dates), within the range every
    request date has (lib.http.schemas.within_bounds)."""
    try:
        if "/" in raw:
            day_part, month_part, year_part = raw.split("/")
            value = date(int(year_part), int(month_part), int(day_part))
        else:
            value = date.fromisoformat(raw)
    except ValueError:
        raise CellError("invalid_value") from None
    if not within_bounds(value):
        raise CellError("invalid_value")
    return value


def yes_no(raw: str) -> bool:
    folded = _fold(raw)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise CellError("invalid_value")


def ubigeo(raw: str) -> str:
    value = raw.strip()
    if value.isdigit() and len(value) == 5:
        value = "0" + value
    if not (value.isdigit() and len(value) == 6):
        raise CellError("invalid_value")
    return value


_SLOT = text_cell(OrderIn, "delivery_slot")
_EMAIL = text_cell(CustomerIn, "email")


def _slot(raw: str) -> str:
    return _SLOT(raw.replace(" ", ""))


def _email(raw: str) -> str:
    return _EMAIL(raw).lower()


# --- the columns ---------------------------------------------------------------------------------

COLUMNS: tuple[Column, ...] = (
    Column(
        "external_ref",
        ("pedido", "id_pedido", "nro_pedido", "referencia_externa", "order_id"),
        text_cell(OrderIn, "external_ref"),
        (
            "una referencia de 1 a 100 letras, dígitos o . _ : / -",
            "a reference of 1 to 100 letters, digits or . _ : / -",
        ),
        required=True,
    ),
    Column(
        "channel",
        ("canal",),
        _choice(_CHANNELS),
        (
            "whatsapp, instagram, facebook, tiktok, web_store, marketplace, phone u other",
            "whatsapp, instagram, facebook, tiktok, web_store, marketplace, phone or other",
        ),
        required=True,
    ),
    Column(
        "customer_name",
        ("cliente", "nombre", "nombre_cliente"),
        text_cell(CustomerIn, "name"),
        ("el nombre del cliente", "the customer's name"),
        required=True,
    ),
    Column(
        "customer_phone",
        ("telefono", "celular", "whatsapp_cliente"),
        text_cell(CustomerIn, "phone"),
        ("un teléfono, p. ej. 987 654 321", "a phone number, e.g. 987 654 321"),
        required=True,
    ),
    Column(
        "document_type",
        ("tipo_documento", "tipo_doc"),
        _choice(_DOCUMENT_TYPES),
        ("DNI, RUC o CE (extranjero)", "DNI, RUC or FOREIGN"),
        required=True,
    ),
    Column(
        "document_number",
        ("documento", "nro_documento", "numero_documento", "dni_ruc"),
        text_cell(CustomerIn, "document_number"),
        ("el número de documento", "the document number"),
        required=True,
    ),
    Column(
        "customer_email",
        ("correo", "email"),
        _email,
        ("un correo electrónico", "an email address"),
    ),
    Column(
        "department",
        ("departamento",),
        text_cell(AddressIn, "department"),
        ("el departamento", "the department"),
        required=True,
    ),
    Column(
        "province",
        ("provincia",),
        text_cell(AddressIn, "province"),
        ("la provincia", "the province"),
        required=True,
    ),
    Column(
        "district",
        ("distrito",),
        text_cell(AddressIn, "district"),
        ("el distrito", "the district"),
        required=True,
    ),
    Column(
        "ubigeo",
        ("codigo_ubigeo",),
        ubigeo,
        ("el código de 6 dígitos del distrito (INEI)", "the district's 6-digit INEI code"),
        required=True,
    ),
    Column(
        "address_line",
        ("direccion",),
        text_cell(AddressIn, "line"),
        ("la dirección", "the address"),
        required=True,
    ),
    Column(
        "address_reference",
        ("referencia", "referencia_direccion"),
        text_cell(AddressIn, "reference"),
        ("una referencia de hasta 300 caracteres", "a landmark of up to 300 characters"),
    ),
    Column("latitude", ("latitud",), _coordinate(90), ("una latitud entre -90 y 90", "a latitude from -90 to 90")),
    Column(
        "longitude", ("longitud",), _coordinate(180), ("una longitud entre -180 y 180", "a longitude from -180 to 180")
    ),
    Column(
        "delivery_date",
        ("fecha_entrega",),
        day,
        (
            "una fecha del 01/01/2000 al 31/12/2100, p. ej. 25/11/2026 o 2026-11-25",
            "a date from 2000-01-01 to 2100-12-31, e.g. 25/11/2026 or 2026-11-25",
        ),
    ),
    Column(
        "delivery_slot",
        ("horario", "franja_horaria", "rango_horario"),
        _slot,
        ("un rango horario, p. ej. 09:00-13:00", "a time range, e.g. 09:00-13:00"),
    ),
    Column(
        "collect_on_delivery",
        ("contraentrega", "pago_contraentrega", "cobrar_al_entregar"),
        yes_no,
        ("sí o no", "yes or no"),
    ),
    Column("currency", ("moneda",), _choice(_CURRENCIES), ("PEN o USD", "PEN or USD")),
    Column("discount", ("descuento",), money, ("un monto, p. ej. 10.50", "an amount, e.g. 10.50")),
    Column(
        "shipping", ("envio", "costo_envio", "delivery"), money, ("un monto, p. ej. 10.50", "an amount, e.g. 10.50")
    ),
    Column(
        "notes",
        ("notas", "observaciones", "comentarios"),
        text_cell(OrderIn, "notes"),
        ("notas de hasta 2000 caracteres", "notes of up to 2000 characters"),
    ),
    Column(
        "seller_email",
        ("vendedor", "correo_vendedor"),
        _email,
        ("el correo de un vendedor de tu organización", "the email of a seller in your organization"),
    ),
    Column(
        "sku",
        ("codigo", "codigo_producto"),
        text_cell(ItemIn, "sku"),
        ("el código del producto", "the product code"),
        required=True,
        per_item=True,
    ),
    Column(
        "item_name",
        ("producto", "descripcion", "nombre_producto"),
        text_cell(ItemIn, "name"),
        ("el nombre del producto", "the product name"),
        required=True,
        per_item=True,
    ),
    Column(
        "quantity",
        ("cantidad",),
        _integer(1, 10_000),
        ("un número entero de 1 a 10000", "a whole number from 1 to 10000"),
        required=True,
        per_item=True,
    ),
    Column(
        "unit_price",
        ("precio", "precio_unitario"),
        money,
        ("un monto, p. ej. 49.90", "an amount, e.g. 49.90"),
        required=True,
        per_item=True,
    ),
)
BY_NAME = {column.name: column for column in COLUMNS}
_HEADER_NAMES = {name: column for column in COLUMNS for name in (column.name, *column.aliases)}

# Where a problem found by lib.orders.validation lands in the file.
_FIELD_COLUMNS = {
    "$.customer.name": "customer_name",
    "$.customer.phone": "customer_phone",
    "$.customer.document_number": "document_number",
    "$.customer.email": "customer_email",
    "$.address.ubigeo": "ubigeo",
    "$.address.latitude": "latitude",
    "$.discount_cents": "discount",
}
_MAX_ITEMS = 100


# --- reading a file ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    column: str | None
    problem: Problem

    def message(self, language: Language) -> str:
        return self.problem.reason(language)


@dataclass(frozen=True, slots=True)
class ImportedOrder:
    row: int  # its first row in the file
    order: NewOrder
    seller_email: str | None


@dataclass(slots=True)
class ParsedFile:
    rows: int = 0
    orders: list[ImportedOrder] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def add(self, row: int, column: str | None, code: str, **params: object) -> None:
        scratch = Problems()
        scratch.add(column or "$", code, **params)
        self.problems.append(RowProblem(row, column, scratch.found[0]))

    def details(self, language: Language) -> list[ErrorDetail]:
        return [
            ErrorDetail(field=p.column or "$", reason=p.message(language), row=p.row)
            for p in self.problems[:MAX_REPORTED]
        ]


def decode(raw: bytes) -> str:
    """The file as text: UTF-8, a leading BOM dropped. Anything else is refused with its line."""
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        line = raw[: bad.start].count(b"\n") + 1
        raise ApiError("csv_encoding", 422, params={"line": line}) from None
    if "\x00" in content:
        raise ApiError("csv_encoding", 422, params={"line": content[: content.index("\x00")].count("\n") + 1})
    return content


def _delimiter(header_line: str) -> str:
    counts = {mark: header_line.count(mark) for mark in (",", ";", "\t")}
    return max(counts, key=lambda mark: counts[mark])


def _records(content: str) -> Iterator[list[str]]:
    first_line = content.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(first_line), strict=True)
    try:
        yield from reader
    except csv.Error as bad:
        raise ApiError("csv_malformed", 422, params={"line": reader.line_num, "problem": str(bad)}) from None


def _header(cells: list[str]) -> list[Column | None]:
    problems: list[ErrorDetail] = []
    columns: list[Column | None] = []
    seen: set[str] = set()
    for cell in cells:
        name = _fold(cell)
        if not name:
            columns.append(None)
            continue
        column = _HEADER_NAMES.get(name)
        if column is None:
            problems.append(ErrorDetail(field=cell.strip()[:100], reason="unknown column", row=1))
        elif column.name in seen:
            problems.append(ErrorDetail(field=column.name, reason="the column appears twice", row=1))
        else:
            seen.add(column.name)
        columns.append(column)
    for column in COLUMNS:
        if column.required and column.name not in seen:
            problems.append(ErrorDetail(field=column.name, reason="required column missing", row=1))
    if problems:
        raise ApiError("csv_header", 422, details=problems)
    return columns


def parse(raw: bytes) -> ParsedFile:
    """Read and check every row; orders come back ready to store, problems by row and column."""
    records = _records(decode(raw))
    header = next(records, None)
    if header is None:
        raise ApiError("csv_empty", 422)
    columns = _header(header)
    parsed = ParsedFile()
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    broken: set[str] = set()  # orders with a row in error: none of their rows make an order
    for row_number, cells in enumerate(records, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        parsed.rows += 1
        if parsed.rows > MAX_ROWS:
            raise ApiError("csv_too_many_rows", 422, params={"limit": MAX_ROWS})
        values = _row(parsed, row_number, columns, cells)
        if values is not None:
            groups.setdefault(values["external_ref"], []).append((row_number, values))
        else:
            broken.add(_raw_ref(columns, cells))
    for ref, rows in groups.items():
        if ref not in broken:
            _order(parsed, rows)
    return parsed


def _raw_ref(columns: list[Column | None], cells: list[str]) -> str:
    for column, cell in zip(columns, cells, strict=False):
        if column is not None and column.name == "external_ref":
            return cell.strip()
    return ""


def _row(parsed: ParsedFile, row: int, columns: list[Column | None], cells: list[str]) -> dict[str, Any] | None:
    """The typed values of one row, or None when a cell is wrong (each problem recorded)."""
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        parsed.add(row, None, "extra_cells", count=len(columns))
        return None
    values: dict[str, Any] = {}
    ok = True
    for index, column in enumerate(columns):
        if column is None:
            continue
        cell = cells[index].strip() if index < len(cells) else ""
        if not cell:
            if column.required:
                parsed.add(row, column.name, "required")
                ok = False
            continue
        try:
            values[column.name] = column.parse(cell)
        except CellError as bad:
            parsed.add(row, column.name, bad.code, expected=column.expected, **bad.params)
            ok = False
    return values if ok else None


def _order(parsed: ParsedFile, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """One order from its rows: the order's columns from the first row, an item per row."""
    first_row, first = rows[0]
    consistent = True
    for row, values in rows[1:]:
        for name, value in values.items():
            if not BY_NAME[name].per_item and value != first.get(name):
                parsed.add(row, name, "differs_in_order", first_row=first_row)
                consistent = False
    if len(rows) > _MAX_ITEMS:
        parsed.add(rows[_MAX_ITEMS][0], "sku", "too_many_items", limit=_MAX_ITEMS)
        consistent = False
    if not consistent:
        return
    data = OrderIn(
        customer=CustomerIn(
            name=first["customer_name"],
            phone=first["customer_phone"],
            document_type=first["document_type"],
            document_number=first["document_number"],
            email=first.get("customer_email"),
        ),
        address=AddressIn(
            department=first["department"],
            province=first["province"],
            district=first["district"],
            ubigeo=first["ubigeo"],
            line=first["address_line"],
            reference=first.get("address_reference", ""),
            latitude=first.get("latitude"),
            longitude=first.get("longitude"),
        ),
        items=[
            ItemIn(
                sku=values["sku"],
                name=values["item_name"],
                quantity=values["quantity"],
                unit_price_cents=values["unit_price"],
            )
            for _, values in rows
        ],
        channel=first["channel"],
        currency=first.get("currency", "PEN"),
        discount_cents=first.get("discount", 0),
        shipping_cents=first.get("shipping", 0),
        delivery_date=first.get("delivery_date"),
        delivery_slot=first.get("delivery_slot"),
        collect_on_delivery=first.get("collect_on_delivery", False),
        notes=first.get("notes", ""),
        external_ref=first["external_ref"],
    )
    problems = Problems()
    order = check_order(data, problems)
    for problem in problems.found:
        column = _FIELD_COLUMNS.get(problem.field)
        parsed.problems.append(RowProblem(first_row, column, problem))
    if order is not None:
        parsed.orders.append(ImportedOrder(first_row, order, first.get("seller_email")))
