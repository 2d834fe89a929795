"""Sample order data for tests: a valid capture payload and CSV files built row by row."""

from __future__ import annotations

import csv
import io
from typing import Any

# A RUC with a valid SUNAT check digit (20 + 8 digits + check digit).
VALID_RUC = "20100070970"


def order_payload(**overrides: Any) -> dict[str, Any]:
    """A capture that the API accepts; keyword arguments replace top-level fields."""
    payload: dict[str, Any] = {
        "customer": {
            "name": "María  Huamán Quispe",
            "phone": "987 654 321",
            "document_type": "DNI",
            "document_number": "45678912",
            "email": "Maria.Huaman@Example.pe",
        },
        "address": {
            "department": "Lima",
            "province": "Lima",
            "district": "Miraflores",
            "ubigeo": "150122",
            "line": "Av. Larco 345, dpto 502",
            "reference": "frente al parque Kennedy",
            "latitude": -12.1211,
            "longitude": -77.0297,
        },
        "items": [
            {"sku": "POLO-NEGRO-M", "name": "Polo negro M", "quantity": 2, "unit_price_cents": 3990},
            {"sku": "GORRA-01", "name": "Gorra bordada", "quantity": 1, "unit_price_cents": 2500},
        ],
        "channel": "whatsapp",
        "discount_cents": 500,
        "shipping_cents": 1000,
        "delivery_date": "2030-01-15",
        "delivery_slot": "09:00-13:00",
        "collect_on_delivery": True,
        "notes": "Llamar antes de llegar",
    }
    payload.update(overrides)
    return payload


CSV_HEADER = [
    "pedido",
    "canal",
    "cliente",
    "telefono",
    "tipo_documento",
    "documento",
    "correo",
    "departamento",
    "provincia",
    "distrito",
    "ubigeo",
    "direccion",
    "referencia",
    "fecha_entrega",
    "horario",
    "contraentrega",
    "moneda",
    "descuento",
    "envio",
    "notas",
    "sku",
    "producto",
    "cantidad",
    "precio",
]


def csv_row(ref: str, **overrides: str) -> dict[str, str]:
    """One item row of order `ref`; keyword arguments replace cells by header name."""
    row = {
        "pedido": ref,
        "canal": "WhatsApp",
        "cliente": "José Pérez",
        "telefono": "987654321",
        "tipo_documento": "DNI",
        "documento": "45678912",
        "correo": "",
        "departamento": "Lima",
        "provincia": "Lima",
        "distrito": "Surco",
        "ubigeo": "150140",
        "direccion": "Jr. Las Flores 120",
        "referencia": "al costado de la bodega",
        "fecha_entrega": "15/01/2030",
        "horario": "14:00-18:00",
        "contraentrega": "sí",
        "moneda": "PEN",
        "descuento": "0",
        "envio": "10.00",
        "notas": "",
        "sku": "POLO-NEGRO-M",
        "producto": "Polo negro M",
        "cantidad": "1",
        "precio": "39.90",
    }
    row.update(overrides)
    return row


def csv_file(rows: list[dict[str, str]], *, header: list[str] | None = None, delimiter: str = ",") -> bytes:
    columns = header or CSV_HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue().encode("utf-8")
