"""Cells of an imported CSV: money to exact cents, dates day first, yes/no, ubigeo and names."""

from __future__ import annotations

from datetime import date

import pytest

from lib.orders.csv_format import BY_NAME, COLUMNS, CellError, day, money, ubigeo, yes_no


@pytest.mark.parametrize(
    ("cell", "cents"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("12,50", 1250),
        ("1,234.50", 123450),
        ("1.234,50", 123450),
        ("1,234,567", 123456700),
        ("1.234.567,5", 123456750),
        ("S/ 49.90", 4990),
        ("0", 0),
        ("0.10", 10),
    ],
)
def test_money_is_exact(cell: str, cents: int) -> None:
    assert money(cell) == cents


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("12.5051", "too_many_decimals"),
        ("0.001", "too_many_decimals"),
        ("12.505", "ambiguous_amount"),
        ("1,234", "ambiguous_amount"),
        ("-1", "invalid_value"),
        ("abc", "invalid_value"),
        ("NaN", "invalid_value"),
        ("Infinity", "invalid_value"),
        ("1e3", "invalid_value"),
        ("1.2.3,4", "invalid_value"),
        ("12,34.5", "invalid_value"),
        ("10000000000.00", "invalid_value"),
    ],
)
def test_money_refuses_what_it_cannot_read_exactly(cell: str, code: str) -> None:
    with pytest.raises(CellError) as refused:
        money(cell)
    assert refused.value.code == code


def test_dates_are_day_first_or_iso() -> None:
    assert day("25/11/2026") == date(2026, 11, 25) == day("2026-11-25")
    assert day("5/1/2027") == date(2027, 1, 5)
    for cell in ("11/25/2026", "2026-02-30", "mañana", "25-11-2026"):
        with pytest.raises(CellError):
            day(cell)


def test_yes_no_in_spanish_and_english() -> None:
    assert all(yes_no(cell) for cell in ("sí", "SI", "x", "yes", "1", "true"))
    assert not any(yes_no(cell) for cell in ("no", "NO", "0", "false"))
    with pytest.raises(CellError):
        yes_no("quizás")


def test_ubigeo_gets_back_the_zero_a_spreadsheet_dropped() -> None:
    assert ubigeo("10101") == "010101" and ubigeo("150122") == "150122"
    for cell in ("1501", "15012A", "1501222"):
        with pytest.raises(CellError):
            ubigeo(cell)


def test_text_cells_keep_the_schemas_limits() -> None:
    with pytest.raises(CellError) as too_long:
        BY_NAME["customer_name"].parse("x" * 201)
    assert too_long.value.code == "too_long" and too_long.value.params == {"max": 200}
    assert BY_NAME["customer_name"].parse("x" * 200) == "x" * 200
    with pytest.raises(CellError):
        BY_NAME["external_ref"].parse("con espacios")
    with pytest.raises(CellError):
        BY_NAME["delivery_slot"].parse("25:00-26:00")
    assert BY_NAME["delivery_slot"].parse("09:00 - 13:00") == "09:00-13:00"


def test_every_column_has_distinct_names_and_both_languages() -> None:
    names = [name for column in COLUMNS for name in (column.name, *column.aliases)]
    assert len(names) == len(set(names))
    assert all(column.expected[0] and column.expected[1] for column in COLUMNS)
    assert BY_NAME["channel"].parse("Tienda Web") == "web_store"
    assert BY_NAME["document_type"].parse("CE") == "FOREIGN"
