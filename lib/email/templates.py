"""Transactional emails rendered from the words in `lib.email.catalog`, in Spanish or English.

`render(template, language, params)` checks its input strictly: an unknown template or
language, a missing or unexpected parameter, or a value of the wrong shape (a link that is not
http(s), a naive timestamp, an hour count that is not a number) raises ValueError, so a typo
fails in a test and not in a customer's inbox. Error messages name parameters, never values.

Every value is treated as hostile: org and inviter names come from users. Whitespace and
control characters collapse to one space and bidirectional-override characters are dropped
(they can make "moc.live" read as "evil.com"); the HTML part escapes every value, links
included; values in the subject are cut at 60 characters.

Templates and their parameters (all strings):

- `invitation`: org_name, inviter_name, role_label (see `role_label()`), link, expires_hours;
- `invitation_unavailable`: org_name, inviter_name;
- `password_reset`: link, expires_minutes;
- `password_changed`: when (ISO 8601 with a UTC offset), ip ("" when unknown);
- `mfa_changed`: change ("enabled" | "disabled" | "reset_by_admin"), when, ip.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from string import Template
from typing import Literal
from urllib.parse import urlsplit

from lib.email.catalog import CHROME, COPY, FROM_IP, MFA_COPY, MONTHS_EN, ROLE_LABELS, UNITS, WHEN, Copy

Language = Literal["es", "en"]
LANGUAGES: tuple[Language, ...] = ("es", "en")
DEFAULT_LANGUAGE: Language = "es"

TEMPLATE_PARAMS: Mapping[str, frozenset[str]] = {
    "invitation": frozenset({"org_name", "inviter_name", "role_label", "link", "expires_hours"}),
    "invitation_unavailable": frozenset({"org_name", "inviter_name"}),
    "password_reset": frozenset({"link", "expires_minutes"}),
    "password_changed": frozenset({"when", "ip"}),
    "mfa_changed": frozenset({"change", "when", "ip"}),
}
MFA_CHANGES = frozenset(MFA_COPY)

# Peru has kept UTC-5 all year since 1994; a fixed offset needs no tz database on the server.
LIMA = timezone(timedelta(hours=-5), "America/Lima")

_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SUBJECT_VALUE_LIMIT = 60
_MAX_VALUE = 2048  # a link with a token fits many times over; anything longer is a bug


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str = field(repr=False)
    html: str = field(repr=False)


def role_label(role: str, language: str) -> str:
    """The name of a role (ADMIN, SUPERVISOR, SELLER, LOGISTICS) in `language`."""
    labels = ROLE_LABELS.get(role)
    if labels is None:
        raise ValueError(f"unknown role {role!r}")
    return labels[_language(language)]


def render(template: str, language: str, params: Mapping[str, str]) -> RenderedEmail:
    """The subject, text and HTML of `template` in `language` ("es" or "en")."""
    expected = TEMPLATE_PARAMS.get(template)
    if expected is None:
        raise ValueError(f"unknown email template {template!r}")
    lang = _language(language)
    missing = expected - params.keys()
    unexpected = params.keys() - expected
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(sorted(missing))}")
        if unexpected:
            problems.append(f"unexpected {', '.join(sorted(map(str, unexpected)))}")
        raise ValueError(f"email template {template!r}: {'; '.join(problems)}")
    clean = {name: _clean(name, value) for name, value in params.items()}

    link: str | None = None
    if template == "invitation":
        copy = COPY[template][lang]
        values = {
            "inviter_name": _required(clean, "inviter_name"),
            "org_name": _required(clean, "org_name"),
            "role_label": _required(clean, "role_label"),
            "expires": _duration(_count(clean, "expires_hours"), "hour", lang),
        }
        link = _link(clean["link"])
    elif template == "invitation_unavailable":
        copy = COPY[template][lang]
        values = {"inviter_name": _required(clean, "inviter_name"), "org_name": _required(clean, "org_name")}
    elif template == "password_reset":
        copy = COPY[template][lang]
        values = {"expires": _duration(_count(clean, "expires_minutes"), "minute", lang)}
        link = _link(clean["link"])
    else:
        if template == "mfa_changed":
            change = clean["change"]
            if change not in MFA_CHANGES:
                raise ValueError(
                    f"email template 'mfa_changed': change must be one of {', '.join(sorted(MFA_CHANGES))}"
                )
            copy = MFA_COPY[change][lang]
        else:
            copy = COPY[template][lang]
        values = {"when": _when(clean["when"], lang), "from_ip": _from_ip(clean["ip"], lang)}
    return _compose(copy, lang, values, link)


def _compose(copy: Copy, lang: Language, values: dict[str, str], link: str | None) -> RenderedEmail:
    chrome = CHROME[lang]
    short = {name: _shorten(value) for name, value in values.items()}
    subject = Template(copy.subject).substitute(short)

    def text_of(paragraph: str) -> str:
        return Template(paragraph).substitute(values)

    def html_of(paragraph: str) -> str:
        escaped = {name: html.escape(value) for name, value in values.items()}
        return f'<p style="margin:0 0 16px">{Template(html.escape(paragraph, quote=False)).substitute(escaped)}</p>'

    text_parts = [chrome.greeting, *map(text_of, copy.before)]
    html_parts = [html_of(chrome.greeting), *map(html_of, copy.before)]
    if copy.action is not None:
        if link is None:
            raise ValueError("a template with an action needs a link")
        text_parts.append(f"{copy.action.text_intro}\n{link}")
        href = html.escape(link)
        html_parts.append(
            '<p style="margin:24px 0">'
            f'<a href="{href}" style="display:inline-block;padding:12px 20px;background:#1d4ed8;'
            'color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold">'
            f"{html.escape(copy.action.button)}</a></p>"
            f'<p style="margin:0 0 16px;font-size:14px;color:#52525b">{html.escape(chrome.link_fallback)}<br>'
            f'<a href="{href}" style="color:#1d4ed8;word-break:break-all">{href}</a></p>'
        )
    text_parts += [*map(text_of, copy.after), chrome.never_ask, chrome.signature, chrome.automated]
    html_parts += [*map(html_of, copy.after), html_of(chrome.never_ask), html_of(chrome.signature)]
    html_parts.append(f'<p style="margin:24px 0 0;font-size:13px;color:#71717a">{html.escape(chrome.automated)}</p>')

    body = "\n".join(html_parts)
    document = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(subject)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f5">\n'
        '<div style="max-width:560px;margin:0 auto;padding:32px 24px;background:#ffffff;'
        'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#18181b">\n'
        f"{body}\n</div>\n</body>\n</html>\n"
    )
    return RenderedEmail(subject=subject, text="\n\n".join(text_parts) + "\n", html=document)


def _language(language: str) -> Language:
    for known in LANGUAGES:
        if language == known:
            return known
    raise ValueError(f"unknown email language {language!r}: use 'es' or 'en'")


def _clean(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"email parameter {name!r} must be a string")
    if len(value) > _MAX_VALUE:
        raise ValueError(f"email parameter {name!r} is longer than {_MAX_VALUE} characters")
    return _SPACE.sub(" ", _BIDI.sub("", value)).strip()


def _required(values: Mapping[str, str], name: str) -> str:
    value = values[name]
    if not value:
        raise ValueError(f"email parameter {name!r} is empty")
    return value


def _count(values: Mapping[str, str], name: str) -> int:
    value = values[name]
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= 10_000:
        raise ValueError(f"email parameter {name!r} must be a whole number between 1 and 10000")
    return int(value)


def _duration(amount: int, unit: str, lang: Language) -> str:
    if unit == "hour" and amount % 24 == 0:
        amount, unit = amount // 24, "day"
    singular, plural = UNITS[lang][unit]
    return f"{amount} {singular if amount == 1 else plural}"


def _link(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username is not None or " " in value:
        raise ValueError("email parameter 'link' must be an http(s) URL")
    return value


def _when(value: str, lang: Language) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("email parameter 'when' must be an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("email parameter 'when' must carry its UTC offset")
    local = moment.astimezone(LIMA)
    return WHEN[lang].format(date=local, month=MONTHS_EN[local.month - 1])


def _from_ip(value: str, lang: Language) -> str:
    known, unknown = FROM_IP[lang]
    if not value:
        return unknown
    try:
        return known.format(ip=ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("email parameter 'ip' must be an IP address or empty") from None


def _shorten(value: str) -> str:
    return value if len(value) <= _SUBJECT_VALUE_LIMIT else value[: _SUBJECT_VALUE_LIMIT - 1].rstrip() + "…"
