"""Error messages in Spanish and English, and the choice between them.

Spanish is the default: Zentro's users are merchants in Peru. A client that prefers English
says so in Accept-Language. Every machine code an error can carry has both texts here; an
ApiError with a code missing from this table cannot be constructed.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["es", "en"]
DEFAULT_LANGUAGE: Language = "es"

MESSAGES: dict[str, tuple[str, str]] = {
    "bad_request": ("La solicitud está mal formada.", "The request is malformed."),
    "not_found": ("No encontrado.", "Not found."),
    "method_not_allowed": ("Método no permitido para este recurso.", "Method not allowed for this resource."),
    "payload_too_large": (
        "El cuerpo de la solicitud supera el límite de {limit} bytes.",
        "The request body exceeds the {limit}-byte limit.",
    ),
    "unsupported_media_type": (
        "Envía el cuerpo como application/json.",
        "Send the body as application/json.",
    ),
    "invalid_json": ("El cuerpo no es JSON válido.", "The body is not valid JSON."),
    "validation_failed": ("Los datos enviados no son válidos.", "The data sent is not valid."),
    "forbidden_origin": (
        "Solicitud rechazada: no proviene de un origen permitido.",
        "Request refused: it does not come from an allowed origin.",
    ),
    "cors_rejected": (
        "Solicitud CORS rechazada: origen, método o cabeceras no permitidos.",
        "CORS request refused: origin, method or headers not allowed.",
    ),
    "unauthorized": ("Se requiere autenticación.", "Authentication required."),
    "forbidden": ("No tienes permiso para esta acción.", "You do not have permission for this action."),
    "database_unavailable": (
        "La base de datos no está disponible. Inténtalo de nuevo en unos segundos.",
        "The database is unavailable. Try again in a few seconds.",
    ),
    "internal_error": (
        "Ocurrió un error inesperado. Si persiste, repórtalo con el request_id.",
        "An unexpected error occurred. If it persists, report it with the request_id.",
    ),
}


def negotiate_language(accept_language: str | None) -> Language:
    """Pick es or en from an Accept-Language header (RFC 9110 q-values); default es."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: Language = DEFAULT_LANGUAGE
    best_q = 0.0
    for item in accept_language.split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("es", "en"):
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        # Strictly greater: on a tie the earlier entry, the client's stated preference, wins.
        if q > best_q:
            best, best_q = ("es" if primary == "es" else "en"), q
    return best


def message(code: str, language: Language, params: dict[str, object] | None = None) -> str:
    spanish, english = MESSAGES[code]
    text = spanish if language == "es" else english
    return text.format(**params) if params else text
