"""The words of every transactional email, Spanish first, then English.

Plain text with `string.Template` placeholders (`$org_name`); `lib.email.templates` fills them,
escaping every value for the HTML part. Placeholders available:

- invitation: `$inviter_name`, `$org_name`, `$role_label`, `$expires` ("3 días");
- invitation_unavailable: `$inviter_name`, `$org_name` (an invitation to an address that already
  has an account in another organization: a notice, no link);
- password_reset: `$expires` ("30 minutos");
- password_changed, mfa_changed: `$when` ("el 24/11/2026 a las 05:15 (hora de Lima, UTC-5)"),
  `$from_ip` ("desde la dirección IP 203.0.113.7" or "desde una dirección IP desconocida").

The link itself is never written here: a template with an `action` gets a button in HTML and
"intro + link" in text. Security alerts carry no link at all, and tell the reader to open Zentro
by typing its address: an alert that asks you to click is what a phishing email looks like.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Action:
    """A button (HTML) or an introduced link (text) pointing at the template's `link`."""

    button: str
    text_intro: str


@dataclass(frozen=True, slots=True)
class Copy:
    subject: str
    before: tuple[str, ...]
    action: Action | None = None
    after: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chrome:
    """The words around every message."""

    greeting: str
    link_fallback: str
    signature: str
    automated: str
    never_ask: str


CHROME: dict[str, Chrome] = {
    "es": Chrome(
        greeting="Hola:",
        link_fallback="Si el botón no funciona, copia y pega este enlace en tu navegador:",
        signature="— El equipo de Zentro",
        automated="Este es un mensaje automático. Por favor, no respondas a este correo.",
        never_ask="Zentro nunca te pedirá tu contraseña ni tus códigos de verificación por correo, "
        "teléfono o WhatsApp.",
    ),
    "en": Chrome(
        greeting="Hello,",
        link_fallback="If the button does not work, copy and paste this link into your browser:",
        signature="— The Zentro team",
        automated="This is an automated message. Please do not reply to this email.",
        never_ask="Zentro will never ask for your password or your verification codes by email, phone or WhatsApp.",
    ),
}

_ES_IF_YOU = "Si fuiste tú, no necesitas hacer nada."
_EN_IF_YOU = "If this was you, there is nothing else to do."

COPY: dict[str, dict[str, Copy]] = {
    "invitation": {
        "es": Copy(
            subject="$inviter_name te invitó a unirte a “$org_name” en Zentro",
            before=("$inviter_name te invitó a unirte a “$org_name” en Zentro con el rol de $role_label.",),
            action=Action(button="Aceptar la invitación", text_intro="Para aceptar la invitación, abre este enlace:"),
            after=(
                "La invitación vence en $expires y solo puede usarse una vez.",
                "Si no esperabas esta invitación o no conoces a quien te la envió, ignora este correo: "
                "no se creará ninguna cuenta.",
            ),
        ),
        "en": Copy(
            subject="$inviter_name invited you to join “$org_name” on Zentro",
            before=("$inviter_name invited you to join “$org_name” on Zentro as $role_label.",),
            action=Action(button="Accept the invitation", text_intro="To accept the invitation, open this link:"),
            after=(
                "The invitation expires in $expires and can be used only once.",
                "If you were not expecting this invitation or do not know who sent it, ignore this "
                "email: no account will be created.",
            ),
        ),
    },
    "invitation_unavailable": {
        "es": Copy(
            subject="$inviter_name intentó invitarte a “$org_name” en Zentro",
            before=(
                "$inviter_name intentó invitar esta dirección de correo a unirse a “$org_name” en Zentro.",
                "Esta dirección ya tiene una cuenta de Zentro en otra organización, y cada dirección puede "
                "pertenecer a una sola organización, así que no se creó ninguna cuenta nueva.",
                "Si quieres unirte a “$org_name”, pide a $inviter_name que invite otra dirección tuya. "
                "Si no conoces a quien te invitó, ignora este correo: tu cuenta no cambió.",
            ),
        ),
        "en": Copy(
            subject="$inviter_name tried to invite you to “$org_name” on Zentro",
            before=(
                "$inviter_name tried to invite this email address to join “$org_name” on Zentro.",
                "This address already has a Zentro account with another organization, and an address can "
                "belong to one organization only, so no new account was created.",
                "If you want to join “$org_name”, ask $inviter_name to invite another address of yours. "
                "If you do not know who invited you, ignore this email: your account has not changed.",
            ),
        ),
    },
    "password_reset": {
        "es": Copy(
            subject="Restablece tu contraseña de Zentro",
            before=("Recibimos una solicitud para restablecer la contraseña de tu cuenta de Zentro.",),
            action=Action(
                button="Elegir una nueva contraseña",
                text_intro="Para elegir una nueva contraseña, abre este enlace:",
            ),
            after=(
                "El enlace vence en $expires y solo puede usarse una vez.",
                "Si no pediste este cambio, ignora este correo: tu contraseña actual sigue siendo válida "
                "y nadie puede cambiarla sin este enlace.",
            ),
        ),
        "en": Copy(
            subject="Reset your Zentro password",
            before=("We received a request to reset the password of your Zentro account.",),
            action=Action(button="Choose a new password", text_intro="To choose a new password, open this link:"),
            after=(
                "The link expires in $expires and can be used only once.",
                "If you did not ask for this, ignore this email: your current password still works and "
                "nobody can change it without this link.",
            ),
        ),
    },
    "password_changed": {
        "es": Copy(
            subject="Se cambió la contraseña de tu cuenta de Zentro",
            before=(
                "La contraseña de tu cuenta de Zentro se cambió $when, $from_ip.",
                _ES_IF_YOU,
                "Si no fuiste tú, alguien más podría tener acceso a tu cuenta. Abre Zentro escribiendo "
                "la dirección en tu navegador (no uses enlaces recibidos por correo), restablece tu "
                "contraseña desde la página de inicio de sesión y avisa de inmediato al administrador "
                "de tu organización.",
            ),
        ),
        "en": Copy(
            subject="Your Zentro password was changed",
            before=(
                "The password of your Zentro account was changed $when, $from_ip.",
                _EN_IF_YOU,
                "If this was not you, someone else may have access to your account. Open Zentro by "
                "typing its address in your browser (do not use links received by email), reset your "
                "password from the sign-in page and tell your organization's administrator right away.",
            ),
        ),
    },
}

# mfa_changed has one copy per kind of change.
MFA_COPY: dict[str, dict[str, Copy]] = {
    "enabled": {
        "es": Copy(
            subject="Se activó la verificación en dos pasos en tu cuenta de Zentro",
            before=(
                "La verificación en dos pasos de tu cuenta de Zentro se activó $when, $from_ip. "
                "Desde ahora, al iniciar sesión te pediremos también un código de tu aplicación de "
                "autenticación.",
                _ES_IF_YOU,
                "Si no fuiste tú, alguien conoce tu contraseña. Abre Zentro escribiendo la dirección en "
                "tu navegador, restablece tu contraseña y pide al administrador de tu organización que "
                "restablezca tu verificación en dos pasos.",
            ),
        ),
        "en": Copy(
            subject="Two-step verification was turned on for your Zentro account",
            before=(
                "Two-step verification was turned on for your Zentro account $when, $from_ip. From now "
                "on, signing in will also ask for a code from your authenticator app.",
                _EN_IF_YOU,
                "If this was not you, someone knows your password. Open Zentro by typing its address in "
                "your browser, reset your password and ask your organization's administrator to reset "
                "your two-step verification.",
            ),
        ),
    },
    "disabled": {
        "es": Copy(
            subject="Se desactivó la verificación en dos pasos de tu cuenta de Zentro",
            before=(
                "La verificación en dos pasos de tu cuenta de Zentro se desactivó $when, $from_ip. "
                "Ahora tu cuenta está protegida solo por tu contraseña.",
                _ES_IF_YOU,
                "Si no fuiste tú, alguien más podría tener acceso a tu cuenta. Abre Zentro escribiendo "
                "la dirección en tu navegador, restablece tu contraseña, vuelve a activar la "
                "verificación en dos pasos y avisa de inmediato al administrador de tu organización.",
            ),
        ),
        "en": Copy(
            subject="Two-step verification was turned off for your Zentro account",
            before=(
                "Two-step verification was turned off for your Zentro account $when, $from_ip. Your "
                "account is now protected by your password alone.",
                _EN_IF_YOU,
                "If this was not you, someone else may have access to your account. Open Zentro by "
                "typing its address in your browser, reset your password, turn two-step verification "
                "back on and tell your organization's administrator right away.",
            ),
        ),
    },
    "reset_by_admin": {
        "es": Copy(
            subject="Un administrador restableció la verificación en dos pasos de tu cuenta de Zentro",
            before=(
                "Un administrador de tu organización restableció la verificación en dos pasos de tu "
                "cuenta de Zentro $when, $from_ip. La próxima vez que inicies sesión tendrás que "
                "configurarla de nuevo con tu aplicación de autenticación.",
                "Si no pediste este cambio, comunícate de inmediato con el administrador de tu "
                "organización por un medio que ya conozcas (no respondiendo a este correo).",
            ),
        ),
        "en": Copy(
            subject="An administrator reset two-step verification on your Zentro account",
            before=(
                "An administrator of your organization reset two-step verification on your Zentro "
                "account $when, $from_ip. The next time you sign in you will have to set it up again "
                "with your authenticator app.",
                "If you did not ask for this, contact your organization's administrator right away "
                "through a channel you already know (not by replying to this email).",
            ),
        ),
    },
}

ROLE_LABELS: dict[str, dict[str, str]] = {
    "ADMIN": {"es": "Administrador", "en": "Administrator"},
    "SUPERVISOR": {"es": "Supervisor", "en": "Supervisor"},
    "SELLER": {"es": "Vendedor", "en": "Seller"},
    "LOGISTICS": {"es": "Logística", "en": "Logistics"},
}

# Words the templates compute values with.
UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "es": {"minute": ("minuto", "minutos"), "hour": ("hora", "horas"), "day": ("día", "días")},
    "en": {"minute": ("minute", "minutes"), "hour": ("hour", "hours"), "day": ("day", "days")},
}
# Filled with a datetime in Lima time and, for English, the month's name (not %b: it follows
# the process locale).
WHEN: dict[str, str] = {
    "es": "el {date:%d/%m/%Y} a las {date:%H:%M} (hora de Lima, UTC-5)",
    "en": "on {month} {date.day}, {date:%Y} at {date:%H:%M} Lima time (UTC-5)",
}
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
FROM_IP: dict[str, tuple[str, str]] = {
    "es": ("desde la dirección IP {ip}", "desde una dirección IP desconocida"),
    "en": ("from IP address {ip}", "from an unknown IP address"),
}
