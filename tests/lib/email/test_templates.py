"""Every template renders in both languages, escapes what users wrote, and refuses typos."""

from __future__ import annotations

import pytest

from lib.email import DEFAULT_LANGUAGE, LANGUAGES, TEMPLATE_PARAMS, render, role_label

LINK = "https://app.zentro.one/invitacion#token=tok_7fQ2"
WHEN = "2026-11-24T03:15:00+00:00"

VALID: dict[str, dict[str, str]] = {
    "invitation": {
        "org_name": "Tienda Demo",
        "inviter_name": "Rosa Quispe",
        "role_label": "Vendedor",
        "link": LINK,
        "expires_hours": "72",
    },
    "invitation_unavailable": {"org_name": "Tienda Demo", "inviter_name": "Rosa Quispe"},
    "password_reset": {"link": LINK, "expires_minutes": "30"},
    "password_changed": {"when": WHEN, "ip": "203.0.113.7"},
    "mfa_changed": {"change": "enabled", "when": WHEN, "ip": "203.0.113.7"},
}
CASES = [(name, lang, VALID[name]) for name in TEMPLATE_PARAMS for lang in LANGUAGES] + [
    ("mfa_changed", lang, {**VALID["mfa_changed"], "change": change})
    for change in ("disabled", "reset_by_admin")
    for lang in LANGUAGES
]
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def test_every_template_has_valid_params_here() -> None:
    assert VALID.keys() == TEMPLATE_PARAMS.keys()
    for name, params in VALID.items():
        assert params.keys() == TEMPLATE_PARAMS[name]


@pytest.mark.parametrize(("template", "language", "params"), CASES)
def test_renders_subject_text_and_html(template: str, language: str, params: dict[str, str]) -> None:
    email = render(template, language, params)
    assert email.subject.strip() and "\n" not in email.subject
    assert email.text.strip() and email.html.strip()
    assert email.html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in email.html
    if "link" in params:
        assert params["link"] in email.text and f'href="{params["link"]}"' in email.html


def test_spanish_is_the_default_and_differs_from_english() -> None:
    assert DEFAULT_LANGUAGE == "es"
    spanish = render("password_reset", "es", VALID["password_reset"])
    english = render("password_reset", "en", VALID["password_reset"])
    assert spanish.subject == "Restablece tu contraseña de Zentro"
    assert english.subject == "Reset your Zentro password"
    assert "30 minutos" in spanish.text and "30 minutes" in english.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_user_written_values_are_escaped_in_html(language: str) -> None:
    params = {**VALID["invitation"], "org_name": HOSTILE, "inviter_name": HOSTILE, "role_label": HOSTILE}
    email = render("invitation", language, params)
    assert "<script" not in email.html and "<img" not in email.html and "onerror=alert(1)>" not in email.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in email.html
    # The same values, verbatim, in the text part: they were used, not dropped.
    assert HOSTILE in email.text


def test_a_benign_value_is_not_mangled_by_escaping() -> None:
    email = render("invitation", "es", {**VALID["invitation"], "org_name": "Bodega Doña Rosa"})
    assert "Bodega Doña Rosa" in email.html and "Bodega Doña Rosa" in email.subject


def test_the_link_is_escaped_inside_the_href() -> None:
    hostile_link = 'https://app.zentro.one/i?t=1"><script>alert(1)</script>'
    email = render("password_reset", "es", {**VALID["password_reset"], "link": hostile_link})
    assert "<script>" not in email.html
    assert 'href="https://app.zentro.one/i?t=1&quot;&gt;&lt;script&gt;' in email.html


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,x", "//evil.test/x", "https://user@evil.test/"]
)
def test_links_other_than_plain_http_urls_are_refused(link: str) -> None:
    with pytest.raises(ValueError, match="link"):
        render("password_reset", "es", {**VALID["password_reset"], "link": link})
    assert render("password_reset", "es", VALID["password_reset"]).text  # same setup, valid link


def test_control_and_bidi_characters_do_not_reach_the_subject() -> None:
    params = {**VALID["invitation"], "org_name": "Tienda\r\nBcc: x@evil.test\u202emoc.live"}
    email = render("invitation", "es", params)
    assert "\r" not in email.subject and "\n" not in email.subject and "\u202e" not in email.subject
    assert "Tienda Bcc: x@evil.test" in email.subject


def test_long_names_are_cut_in_the_subject_only() -> None:
    name = "Distribuidora " + "A" * 200
    email = render("invitation", "es", {**VALID["invitation"], "org_name": name})
    assert name not in email.subject and "…" in email.subject and len(email.subject) < 200
    assert name in email.text


@pytest.mark.parametrize("template", ["invitacion", "Invitation", "", "password-reset"])
def test_unknown_template_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match="unknown email template"):
        render(template, "es", VALID["invitation"])
    assert render("invitation", "es", VALID["invitation"]).subject


@pytest.mark.parametrize("language", ["fr", "ES", "es-PE", "", "pt"])
def test_unknown_language_is_refused(language: str) -> None:
    with pytest.raises(ValueError, match="unknown email language"):
        render("invitation", language, VALID["invitation"])
    assert render("invitation", "es", VALID["invitation"]).subject


@pytest.mark.parametrize("template", list(TEMPLATE_PARAMS))
def test_each_missing_param_is_refused_by_name(template: str) -> None:
    for name in TEMPLATE_PARAMS[template]:
        params = {key: value for key, value in VALID[template].items() if key != name}
        with pytest.raises(ValueError, match=f"missing {name}"):
            render(template, "es", params)
    assert render(template, "es", VALID[template]).subject


def test_an_extra_param_is_refused_without_echoing_values() -> None:
    params = {**VALID["password_reset"], "expires_minute": "30"}
    with pytest.raises(ValueError, match="unexpected expires_minute") as caught:
        render("password_reset", "es", params)
    assert LINK not in str(caught.value)


@pytest.mark.parametrize("when", ["2026-11-24T03:15:00", "ayer", "2026-13-01T00:00:00Z"])
def test_when_must_be_an_iso_timestamp_with_offset(when: str) -> None:
    with pytest.raises(ValueError, match="when"):
        render("password_changed", "es", {**VALID["password_changed"], "when": when})
    assert render("password_changed", "es", {**VALID["password_changed"], "when": "2026-11-24T03:15:00Z"}).text


def test_when_is_shown_in_lima_time() -> None:
    params = {**VALID["password_changed"], "when": "2026-11-24T03:15:00Z"}
    assert "el 23/11/2026 a las 22:15 (hora de Lima, UTC-5)" in render("password_changed", "es", params).text
    assert "on November 23, 2026 at 22:15 Lima time (UTC-5)" in render("password_changed", "en", params).text


def test_unknown_ip_is_said_in_words_and_a_bad_ip_is_refused() -> None:
    unknown = {**VALID["password_changed"], "ip": ""}
    assert "desde una dirección IP desconocida" in render("password_changed", "es", unknown).text
    assert "from an unknown IP address" in render("password_changed", "en", unknown).text
    assert "desde la dirección IP 203.0.113.7" in render("password_changed", "es", VALID["password_changed"]).text
    with pytest.raises(ValueError, match="ip"):
        render("password_changed", "es", {**VALID["password_changed"], "ip": "<b>1.2.3.4</b>"})


def test_mfa_change_must_be_a_known_kind() -> None:
    with pytest.raises(ValueError, match="change must be one of"):
        render("mfa_changed", "es", {**VALID["mfa_changed"], "change": "reset by an administrator"})
    reset = render("mfa_changed", "es", {**VALID["mfa_changed"], "change": "reset_by_admin"})
    assert reset.subject.startswith("Un administrador restableció")


ALERTS = [c for c in CASES if "link" not in c[2] and c[0] != "invitation_unavailable"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_invitation_to_an_address_with_an_account_elsewhere_is_a_notice_without_a_link(language: str) -> None:
    email = render("invitation_unavailable", language, VALID["invitation_unavailable"])
    assert "Tienda Demo" in email.subject and "Rosa Quispe" in email.subject
    assert ("no se creó ninguna cuenta" if language == "es" else "no new account was created") in email.text
    assert "http" not in email.text and "<a " not in email.html


@pytest.mark.parametrize(("template", "language", "params"), ALERTS)
def test_security_alerts_say_what_to_do_and_carry_no_link(template: str, language: str, params: dict[str, str]) -> None:
    email = render(template, language, params)
    advice = {
        "es": ("Si no fuiste tú", "Si no pediste este cambio"),
        "en": ("If this was not you", "If you did not ask"),
    }
    assert any(sentence in email.text for sentence in advice[language])
    assert "administra" in email.text  # who to tell
    assert "http" not in email.text and "<a " not in email.html


@pytest.mark.parametrize(
    ("hours", "spanish", "english"),
    [("1", "1 hora", "1 hour"), ("36", "36 horas", "36 hours"), ("24", "1 día", "1 day"), ("72", "3 días", "3 days")],
)
def test_invitation_lifetime_reads_naturally(hours: str, spanish: str, english: str) -> None:
    params = {**VALID["invitation"], "expires_hours": hours}
    assert f"vence en {spanish} " in render("invitation", "es", params).text
    assert f"expires in {english} " in render("invitation", "en", params).text


@pytest.mark.parametrize("value", ["0", "-1", "72h", "", "١٢"])
def test_lifetimes_must_be_positive_whole_numbers(value: str) -> None:
    with pytest.raises(ValueError, match="expires_hours"):
        render("invitation", "es", {**VALID["invitation"], "expires_hours": value})


def test_role_labels_in_both_languages() -> None:
    assert [role_label(role, "es") for role in ("ADMIN", "SUPERVISOR", "SELLER", "LOGISTICS")] == [
        "Administrador",
        "Supervisor",
        "Vendedor",
        "Logística",
    ]
    assert [role_label(role, "en") for role in ("ADMIN", "SUPERVISOR", "SELLER", "LOGISTICS")] == [
        "Administrator",
        "Supervisor",
        "Seller",
        "Logistics",
    ]
    with pytest.raises(ValueError, match="unknown role"):
        role_label("OWNER", "es")
    with pytest.raises(ValueError, match="unknown email language"):
        role_label("ADMIN", "fr")


def test_rendering_is_deterministic() -> None:
    # The outbox may render again on a retry: Resend refuses a reused key with another payload.
    for template, language, params in CASES:
        assert render(template, language, params) == render(template, language, dict(params))
