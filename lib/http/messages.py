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
        "Envía el cuerpo como {media_type}.",
        "Send the body as {media_type}.",
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
    "invalid_credentials": (
        "Correo o contraseña incorrectos.",
        "Incorrect email or password.",
    ),
    "mfa_required": (
        "Ingresa el código de tu aplicación de autenticación (o un código de recuperación).",
        "Enter the code from your authenticator app (or a recovery code).",
    ),
    "invalid_mfa_code": ("El código no es válido o ya fue usado.", "The code is not valid or was already used."),
    "too_many_attempts": (
        "Demasiados intentos fallidos. Espera un momento antes de volver a intentarlo.",
        "Too many failed attempts. Wait a moment before trying again.",
    ),
    "too_many_requests": (
        "Demasiadas solicitudes de este tipo en poco tiempo. Inténtalo de nuevo en {seconds} s.",
        "Too many requests of this kind in a short time. Try again in {seconds} s.",
    ),
    "mfa_enrollment_required": (
        "Tu organización exige verificación en dos pasos: actívala para continuar.",
        "Your organization requires two-step verification: turn it on to continue.",
    ),
    "password_too_short": (
        "La contraseña debe tener al menos 8 caracteres.",
        "The password must have at least 8 characters.",
    ),
    "password_too_long": (
        "La contraseña puede tener como máximo 128 caracteres.",
        "The password can have at most 128 characters.",
    ),
    "password_too_common": (
        "Esa contraseña es de las más usadas y fáciles de adivinar. Elige otra.",
        "That password is among the most common and easiest to guess. Choose another.",
    ),
    "password_too_personal": (
        "La contraseña no debe basarse en tu correo, tu nombre o el de tu organización.",
        "The password must not be based on your email, your name or your organization's name.",
    ),
    "current_password_incorrect": (
        "La contraseña actual no es correcta.",
        "The current password is not correct.",
    ),
    "reauthentication_failed": (
        "No pudimos confirmar tu identidad: revisa tu contraseña y tu código.",
        "We could not confirm your identity: check your password and your code.",
    ),
    "invalid_email": ("El correo electrónico no es válido.", "The email address is not valid."),
    "email_unavailable": (
        "Ese correo ya tiene una cuenta en Zentro.",
        "That email address already has a Zentro account.",
    ),
    "invalid_token": (
        "El enlace no es válido o ya venció. Pide uno nuevo.",
        "The link is not valid or has expired. Ask for a new one.",
    ),
    "cannot_change_own_role": ("No puedes cambiar tu propio rol.", "You cannot change your own role."),
    "cannot_deactivate_self": ("No puedes desactivar tu propia cuenta.", "You cannot deactivate your own account."),
    "cannot_reset_own_mfa": (
        "No puedes restablecer tu propia verificación en dos pasos: desactívala desde tu perfil.",
        "You cannot reset your own two-step verification: turn it off from your profile.",
    ),
    "last_admin": (
        "La organización debe conservar al menos un administrador activo.",
        "The organization must keep at least one active administrator.",
    ),
    "mfa_already_enabled": (
        "La verificación en dos pasos ya está activa.",
        "Two-step verification is already on.",
    ),
    "mfa_not_started": (
        "Primero inicia la activación de la verificación en dos pasos.",
        "Start turning on two-step verification first.",
    ),
    "mfa_not_enrolled": (
        "La verificación en dos pasos no está activa.",
        "Two-step verification is not on.",
    ),
    "mfa_required_by_organization": (
        "Tu organización exige la verificación en dos pasos para tu rol.",
        "Your organization requires two-step verification for your role.",
    ),
    "precondition_required": (
        "Envía la versión que modificas en la cabecera If-Match.",
        "Send the version you are changing in the If-Match header.",
    ),
    "version_conflict": (
        "Alguien modificó este registro mientras lo editabas. Vuelve a cargarlo e inténtalo de nuevo.",
        "Someone changed this record while you were editing it. Reload it and try again.",
    ),
    "invalid_transition": (
        "No se puede aplicar «{action}» a un pedido en estado «{status}».",
        "«{action}» cannot be applied to an order in status «{status}».",
    ),
    "transition_forbidden": (
        "Tu rol no permite «{action}» en este pedido.",
        "Your role does not allow «{action}» on this order.",
    ),
    "transition_requirement": (
        "Falta información para este cambio de estado.",
        "This status change needs more information.",
    ),
    "order_not_editable": (
        "El pedido ya no se puede modificar (estado «{status}»).",
        "The order can no longer be edited (status «{status}»).",
    ),
    "duplicate_external_ref": (
        "Ya existe un pedido con esa referencia externa.",
        "An order with that external reference already exists.",
    ),
    "invalid_cursor": ("El cursor de paginación no es válido.", "The pagination cursor is not valid."),
    "filter_not_in_view": (
        "Solo puedes filtrar por datos que tu rol ve en un pedido; revisa los detalles.",
        "You can only filter on what your role sees of an order; see the details.",
    ),
    "csv_encoding": (
        "El archivo no está en UTF-8 (línea {line}). Guárdalo como «CSV UTF-8» y vuelve a subirlo.",
        "The file is not UTF-8 (line {line}). Save it as “CSV UTF-8” and upload it again.",
    ),
    "csv_malformed": (
        "El archivo CSV está mal formado cerca de la línea {line} (¿comillas sin cerrar?).",
        "The CSV file is malformed near line {line} (an unclosed quote?).",
    ),
    "csv_empty": (
        "El archivo está vacío: falta la fila de encabezados.",
        "The file is empty: the header row is missing.",
    ),
    "csv_header": (
        "Los encabezados del archivo no son los esperados; revisa los detalles.",
        "The file's headers are not the expected ones; see the details.",
    ),
    "csv_too_many_rows": (
        "El archivo tiene más de {limit} filas; divídelo en varios.",
        "The file has more than {limit} rows; split it into several.",
    ),
    "export_too_large": (
        "La exportación supera las {limit} filas; acota el rango de fechas o los filtros.",
        "The export exceeds {limit} rows; narrow the date range or the filters.",
    ),
    "import_invalid": (
        "El archivo tiene {count} errores; no se importó nada. Corrígelos y vuelve a intentarlo.",
        "The file has {count} errors; nothing was imported. Fix them and try again.",
    ),
    "payment_reviewed": (
        "Este pago ya fue revisado o no es tuyo de corregir: pide a un supervisor que lo cambie.",
        "This payment was already reviewed or is not yours to fix: ask a supervisor to change it.",
    ),
    "payment_rejected": (
        "Este pago fue rechazado y ya no cambia; registra uno nuevo si corresponde.",
        "This payment was rejected and no longer changes; record a new one if needed.",
    ),
    "payment_already_reviewed": (
        "Este pago ya está {status}.",
        "This payment is already {status}.",
    ),
    "collection_settles": (
        "Un cobro contra entrega se verifica al cerrar la liquidación del repartidor.",
        "A cash-on-delivery collection is verified by closing the rider's settlement.",
    ),
    "duplicate_receipt": (
        "Este comprobante ya se usó en otro pago ({other}); para verificarlo indica override_reason.",
        "This receipt was already used by another payment ({other}); to verify it, give an override_reason.",
    ),
    "settlement_closed": (
        "La liquidación ya está cerrada; sus cobros no cambian.",
        "The settlement is closed; its collections no longer change.",
    ),
    "settlement_already_open": (
        "Este repartidor ya tiene una liquidación abierta en esa moneda; ciérrala primero.",
        "This rider already has an open settlement in that currency; close it first.",
    ),
    "not_your_delivery": (
        "Este pedido lo entrega otro repartidor.",
        "Another rider delivers this order.",
    ),
    "not_cash_on_delivery": (
        "Este pedido no es contra entrega.",
        "This order is not cash on delivery.",
    ),
    "collection_not_delivered": (
        "Solo se registra el cobro de un pedido entregado (este está {status}).",
        "Collections are recorded for delivered orders only (this one is {status}).",
    ),
    "proof_type_refused": (
        "Solo se aceptan comprobantes JPEG, PNG, WebP o PDF; este archivo no es uno de ellos.",
        "Only JPEG, PNG, WebP or PDF proofs are accepted; this file is none of them.",
    ),
    "proof_type_mismatch": (
        "El nombre o el tipo declarado del archivo no coincide con su contenido.",
        "The file's name or declared type does not match its content.",
    ),
    "proof_unreadable": (
        "No se pudo leer la imagen o el PDF: el archivo está dañado o incompleto.",
        "The image or PDF could not be read: the file is damaged or incomplete.",
    ),
    "proof_too_large_image": (
        "La imagen tiene demasiados píxeles; envía una captura de pantalla normal.",
        "The image has too many pixels; send an ordinary screenshot.",
    ),
    "proof_missing": ("Este pago no tiene comprobante.", "This payment has no proof."),
    "storage_unavailable": (
        "El almacenamiento de archivos no responde. Inténtalo de nuevo en unos segundos.",
        "File storage is not responding. Try again in a few seconds.",
    ),
    "customer_anonymised": (
        "Este cliente ya fue anonimizado.",
        "This customer was already anonymised.",
    ),
    "job_not_dead": (
        "Solo un trabajo fallido (muerto) puede reintentarse o descartarse.",
        "Only a dead (failed) job can be retried or discarded.",
    ),
    "user_not_invited": (
        "Este usuario ya aceptó su invitación o está desactivado: no hay invitación que reenviar.",
        "This user has already accepted their invitation or is deactivated: there is no invitation to resend.",
    ),
    "service_unavailable": (
        "El servicio no está disponible por un momento. Inténtalo de nuevo en unos segundos.",
        "The service is briefly unavailable. Try again in a few seconds.",
    ),
    "portal_host_not_allowed": (
        "Esa dirección no es la del portal de Zeus. Usa la dirección oficial del portal (https://).",
        "That address is not the Zeus portal's. Use the portal's official address (https://).",
    ),
    "internal_error": (
        "Ocurrió un error inesperado. Si persiste, repórtalo con el request_id.",
        "An unexpected error occurred. If it persists, report it with the request_id.",
    ),
    "integration_not_connected": (
        "Esta integración no está conectada.",
        "This integration is not connected.",
    ),
    "shipment_not_retryable": (
        "No hay un envío que reintentar: ya está registrado, en cola o el pedido no va con Zeus.",
        "There is no shipment to retry: it is registered, queued, or the order is not going with Zeus.",
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
