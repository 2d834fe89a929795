"""What is wrong with an order's data, by field and machine code, in Spanish and English.

Validation collects every problem before answering, so a request (or a CSV file) learns about
all of them at once. The JSON API reports them as error details with the English reason (as
the schema validator does); the CSV import reports them per row in the caller's language.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lib.http.errors import ApiError, ErrorDetail
from lib.http.messages import Language
from lib.peru import REASONS as IDENTIFIER_REASONS
from lib.peru import InvalidIdentifier

REASONS: dict[str, tuple[str, str]] = {
    **IDENTIFIER_REASONS,
    "required": ("Falta este dato.", "This value is required."),
    "invalid_email": ("No es un correo electrónico válido.", "Not an email address."),
    "coordinates_pair": ("Latitud y longitud van juntas.", "Latitude and longitude go together."),
    "discount_too_large": ("El descuento es mayor que el pedido.", "The discount is larger than the order."),
    "lookup_needs_key": (
        "Indica un teléfono, o un tipo y número de documento.",
        "Give a phone, or a document type and number.",
    ),
    "not_a_rider": (
        "No es un usuario de LOGISTICS activo de esta organización.",
        "Not an active LOGISTICS user of this organization.",
    ),
    "reason_required": ("Este cambio de estado necesita un motivo.", "This step needs a reason."),
    "date_required": ("Este cambio de estado necesita la nueva fecha de entrega.", "This step needs the new date."),
    "date_in_past": ("La nueva fecha de entrega ya pasó.", "The new delivery date is in the past."),
    "courier_required": ("Despachar necesita un repartidor o un courier.", "Dispatching needs a rider or a carrier."),
    "not_for_this_step": (
        "Este dato no corresponde a este cambio de estado.",
        "This value does not belong to this step.",
    ),
    # payments
    "currency_mismatch": ("El pedido se cobra en {currency}.", "The order is charged in {currency}."),
    "cash_is_collected": (
        "El efectivo contra entrega lo registra el repartidor como cobro.",
        "Cash on delivery is recorded by the rider as a collection.",
    ),
    "not_a_door_method": (
        "En la puerta se cobra en efectivo, Yape o Plin.",
        "At the door, payment is cash, Yape or Plin.",
    ),
    "operation_number_required": (
        "Falta el número de operación del comprobante.",
        "The receipt's operation number is missing.",
    ),
    "operation_number_invalid": (
        "El número de operación solo lleva letras y dígitos (hasta 40).",
        "An operation number has letters and digits only (up to 40).",
    ),
    "in_future": ("La fecha está en el futuro.", "The date is in the future."),
    "nothing_to_override": (
        "No hay nada que justificar: el comprobante no está repetido.",
        "Nothing to override: the receipt is not a repeat.",
    ),
    "settlement_needs_reason": (
        "Hay diferencias (faltante de cobro {collection_gap_cents}, de entrega {shortfall_cents}): indica el motivo.",
        "There are differences (collection gap {collection_gap_cents}, shortfall {shortfall_cents}): give a reason.",
    ),
    # CSV imports
    "invalid_value": ("Valor no válido: se espera {expected}.", "Invalid value: expected {expected}."),
    "too_long": ("Tiene más de {max} caracteres.", "Longer than {max} characters."),
    "too_many_decimals": ("El monto tiene más de 2 decimales.", "The amount has more than 2 decimals."),
    "ambiguous_amount": (
        "No queda claro si el punto o la coma separa miles o decimales: escribe el monto con 2 decimales.",
        "It is unclear whether the point or comma separates thousands or decimals: write it with 2 decimals.",
    ),
    "differs_in_order": (
        "No coincide con la fila {first_row} del mismo pedido.",
        "Differs from row {first_row} of the same order.",
    ),
    "too_many_items": ("Un pedido tiene como máximo {limit} productos.", "An order has at most {limit} items."),
    "extra_cells": (
        "La fila tiene más celdas que columnas ({count}).",
        "The row has more cells than columns ({count}).",
    ),
    "unknown_seller": (
        "No es el correo de un vendedor activo de tu organización.",
        "Not the email of an active seller in your organization.",
    ),
}


def reason(code: str, language: Language, params: dict[str, object] | None = None) -> str:
    """The text for `code`; a parameter given as a (Spanish, English) pair is picked the same way."""
    index = 0 if language == "es" else 1
    text = REASONS[code][index]
    if not params:
        return text
    chosen = {k: v[index] if isinstance(v, tuple) else v for k, v in params.items()}
    return text.format(**chosen)


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    code: str
    params: dict[str, object] = dataclasses.field(default_factory=dict)

    def reason(self, language: Language) -> str:
        return reason(self.code, language, self.params)


class Problems:
    """Collects problems; `raise_if_any` turns them into one 422 listing every one."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, field: str, code: str, **params: object) -> None:
        if code not in REASONS:
            raise ValueError(f"problem code {code!r} has no reason; add it to REASONS")
        self.found.append(Problem(field, code, params))

    def identifier(self, field: str, bad: InvalidIdentifier) -> None:
        self.add(field, bad.code)

    def __bool__(self) -> bool:
        return bool(self.found)

    def details(self, language: Language = "en") -> list[ErrorDetail]:
        return [ErrorDetail(field=p.field, reason=p.reason(language)) for p in self.found]

    def raise_if_any(self, code: str = "validation_failed") -> None:
        if self.found:
            raise ApiError(code, 422, details=self.details())
