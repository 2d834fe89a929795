"""Typed configuration, read once from the environment.

Every setting Zentro reads lives here, documented in `.env.example`. `settings()` parses the
environment the first time it is called and caches the result; a function module calls it while
building its app, so a deployment with a missing or placeholder secret fails at cold start
instead of serving requests half-configured.

The environment is decided, never guessed from the request:

- `ZENTRO_ENV` names it explicitly (`production`, `preview`, `development`, `test`);
- otherwise Vercel's own `VERCEL_ENV` is used, so a deployment is never "development" by accident;
- a Vercel production or preview deployment cannot be downgraded by `ZENTRO_ENV`.

Production and preview are *deployed* environments: secrets are mandatory, the database
connection must use TLS, cookies are `Secure`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

Environment = Literal["production", "preview", "development", "test"]
_ENVIRONMENTS: tuple[Environment, ...] = ("production", "preview", "development", "test")
_VERCEL_DEPLOYMENTS: dict[str, Environment] = {"production": "production", "preview": "preview"}

# Substrings that mark a value copied from documentation rather than generated for real.
_PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "replace", "placeholder", "example", "xxxx", "<", ">")
_MIN_SECRET_LENGTH = 32
_MIN_AUDIT_RETENTION_DAYS = 90
_MIN_DEPLOYED_BCRYPT_COST = 12
_BLOB_RW_PREFIX = "vercel_blob_rw_"  # the SDK reads the store id from what follows


class ConfigError(RuntimeError):
    """The environment does not describe a configuration Zentro can run with."""


class Secret:
    """A configuration value that must never be printed: repr and str hide it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment
    on_vercel: bool
    database_url: Secret
    password_pepper: Secret
    encryption_keys: Secret
    database_connect_timeout: float = 5.0
    database_statement_timeout_ms: int = 10_000
    cron_secret: Secret | None = None
    sentry_dsn: Secret | None = None
    sentry_traces_sample_rate: float = 0.0
    release: str | None = None
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    audit_retention_days: int = _MIN_AUDIT_RETENTION_DAYS
    log_level: str = "INFO"
    bcrypt_cost: int = _MIN_DEPLOYED_BCRYPT_COST
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    session_cookie_secure: bool = True
    app_base_url: str = "http://127.0.0.1:3000"
    email_from: str = "Zentro <no-reply@zentro.one>"
    resend_api_key: Secret | None = None
    resend_api_url: str | None = None
    mail_dir: str | None = None
    blob_read_write_token: Secret | None = None
    storage_dir: str | None = None
    browserbase_api_key: Secret | None = None
    browserbase_project_id: str | None = None
    browserbase_base_url: str | None = None
    zeus_step_timeout_seconds: float = 15.0
    zeus_portal_hosts: frozenset[str] = frozenset()

    @property
    def session_cookie_name(self) -> str:
        """`__Host-` only with Secure: browsers refuse the prefix on an insecure cookie."""
        return "__Host-zentro_session" if self.session_cookie_secure else "zentro_session"

    @property
    def deployed(self) -> bool:
        """Production and preview deployments: everything strict, nothing optional."""
        return self.environment in ("production", "preview")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        environment = _environment(env)
        deployed = environment in ("production", "preview")

        database_url = env.get("DATABASE_URL", "").strip()
        if not database_url:
            raise ConfigError("DATABASE_URL is required")
        database_url = normalise_database_url(database_url)
        if deployed:
            _require_real_secret("DATABASE_URL", database_url, min_length=1)
            _require_tls(database_url)

        cron_secret = _optional(env, "CRON_SECRET")
        if deployed and cron_secret is None:
            raise ConfigError("CRON_SECRET is required in production and preview")
        if cron_secret is not None:
            _require_real_secret("CRON_SECRET", cron_secret, min_length=_MIN_SECRET_LENGTH)

        sentry_dsn = _optional(env, "SENTRY_DSN")
        if sentry_dsn is not None and not sentry_dsn.startswith(("https://", "http://")):
            raise ConfigError("SENTRY_DSN must be an http(s) URL")

        retention = _int(env, "AUDIT_RETENTION_DAYS", _MIN_AUDIT_RETENTION_DAYS)
        if retention < _MIN_AUDIT_RETENTION_DAYS:
            raise ConfigError(f"AUDIT_RETENTION_DAYS must be at least {_MIN_AUDIT_RETENTION_DAYS}")

        max_body = _int(env, "MAX_BODY_BYTES", 1_048_576)
        if not 1024 <= max_body <= 64 * 1_048_576:
            raise ConfigError("MAX_BODY_BYTES must be between 1 KiB and 64 MiB")

        traces = _float(env, "SENTRY_TRACES_SAMPLE_RATE", 0.0)
        if not 0.0 <= traces <= 1.0:
            raise ConfigError("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1")

        pepper = _optional(env, "PASSWORD_PEPPER")
        if pepper is None:
            raise ConfigError("PASSWORD_PEPPER is required (32+ random characters)")
        _require_real_secret("PASSWORD_PEPPER", pepper, min_length=_MIN_SECRET_LENGTH)

        keys = _optional(env, "ENCRYPTION_KEYS")
        if keys is None:
            raise ConfigError("ENCRYPTION_KEYS is required (see .env.example)")
        _require_key_ring(keys)

        bcrypt_cost = _int(env, "BCRYPT_COST", _MIN_DEPLOYED_BCRYPT_COST)
        if not (_MIN_DEPLOYED_BCRYPT_COST if deployed else 4) <= bcrypt_cost <= 16:
            raise ConfigError(f"BCRYPT_COST must be between {_MIN_DEPLOYED_BCRYPT_COST} and 16 when deployed")

        idle = _int(env, "SESSION_IDLE_MINUTES", 30)
        absolute = _int(env, "SESSION_ABSOLUTE_HOURS", 12)
        if not 1 <= idle <= 24 * 60 or not 1 <= absolute <= 24 * 30 or idle > absolute * 60:
            raise ConfigError("SESSION_IDLE_MINUTES / SESSION_ABSOLUTE_HOURS out of range")

        secure_cookie = _bool(env, "SESSION_COOKIE_SECURE", default=deployed)
        if deployed and not secure_cookie:
            raise ConfigError("SESSION_COOKIE_SECURE cannot be turned off in production or preview")

        app_base_url = env.get("APP_BASE_URL", "").strip().rstrip("/")
        if deployed and not app_base_url.startswith("https://"):
            raise ConfigError("APP_BASE_URL must be an https:// URL in production and preview")

        resend_key = _optional(env, "RESEND_API_KEY")
        if deployed and resend_key is None:
            raise ConfigError("RESEND_API_KEY is required in production and preview")
        if resend_key is not None and deployed:
            _require_real_secret("RESEND_API_KEY", resend_key, min_length=10)

        blob_token = _optional(env, "BLOB_READ_WRITE_TOKEN")
        if deployed and blob_token is None:
            raise ConfigError("BLOB_READ_WRITE_TOKEN is required in production and preview")
        if blob_token is not None:
            if not blob_token.startswith(_BLOB_RW_PREFIX):
                raise ConfigError(
                    f"BLOB_READ_WRITE_TOKEN must be a Vercel Blob read-write token ({_BLOB_RW_PREFIX}...)"
                )
            if deployed:
                _require_real_secret("BLOB_READ_WRITE_TOKEN", blob_token, min_length=_MIN_SECRET_LENGTH)

        browserbase_key = _optional(env, "BROWSERBASE_API_KEY")
        browserbase_project = _optional(env, "BROWSERBASE_PROJECT_ID")
        if (browserbase_key is None) != (browserbase_project is None):
            raise ConfigError("set BROWSERBASE_API_KEY and BROWSERBASE_PROJECT_ID together")
        if browserbase_key is not None and deployed:
            _require_real_secret("BROWSERBASE_API_KEY", browserbase_key, min_length=10)
        browserbase_url = _optional(env, "BROWSERBASE_BASE_URL")
        if browserbase_url is not None and deployed:
            raise ConfigError("BROWSERBASE_BASE_URL is for local stand-ins; leave it unset in production and preview")
        zeus_timeout = _float(env, "ZEUS_STEP_TIMEOUT_SECONDS", 15.0)
        if not 1.0 <= zeus_timeout <= 60.0:
            raise ConfigError("ZEUS_STEP_TIMEOUT_SECONDS must be between 1 and 60")
        zeus_hosts = _hosts(env.get("ZEUS_PORTAL_HOSTS", ""))

        return cls(
            environment=environment,
            on_vercel=env.get("VERCEL") == "1",
            database_url=Secret(database_url),
            database_connect_timeout=_float(env, "DATABASE_CONNECT_TIMEOUT", 5.0),
            database_statement_timeout_ms=_int(env, "DATABASE_STATEMENT_TIMEOUT_MS", 10_000),
            cron_secret=Secret(cron_secret) if cron_secret else None,
            sentry_dsn=Secret(sentry_dsn) if sentry_dsn else None,
            sentry_traces_sample_rate=traces,
            release=env.get("VERCEL_GIT_COMMIT_SHA") or env.get("ZENTRO_RELEASE") or None,
            allowed_origins=_origins(env.get("ALLOWED_ORIGINS", "")),
            max_body_bytes=max_body,
            audit_retention_days=retention,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            password_pepper=Secret(pepper),
            encryption_keys=Secret(keys),
            bcrypt_cost=bcrypt_cost,
            session_idle_minutes=idle,
            session_absolute_hours=absolute,
            session_cookie_secure=secure_cookie,
            app_base_url=app_base_url or "http://127.0.0.1:3000",
            email_from=env.get("EMAIL_FROM", "").strip() or "Zentro <no-reply@zentro.one>",
            resend_api_key=Secret(resend_key) if resend_key else None,
            resend_api_url=_optional(env, "RESEND_API_URL"),
            mail_dir=_optional(env, "MAIL_DIR"),
            blob_read_write_token=Secret(blob_token) if blob_token else None,
            storage_dir=_optional(env, "STORAGE_DIR"),
            browserbase_api_key=Secret(browserbase_key) if browserbase_key else None,
            browserbase_project_id=browserbase_project,
            browserbase_base_url=browserbase_url,
            zeus_step_timeout_seconds=zeus_timeout,
            zeus_portal_hosts=zeus_hosts,
        )


@functools.cache
def settings() -> Settings:
    """The process's settings, parsed from `os.environ` on first use."""
    return Settings.from_env(os.environ)


def normalise_database_url(url: str) -> str:
    """Accept the URL forms Neon and Postgres tools print; SQLAlchemy needs the psycopg driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith("postgresql+psycopg://"):
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    return url


def redact_database_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _environment(env: Mapping[str, str]) -> Environment:
    explicit = env.get("ZENTRO_ENV", "").strip().lower()
    if explicit and explicit not in _ENVIRONMENTS:
        raise ConfigError(f"ZENTRO_ENV must be one of {', '.join(_ENVIRONMENTS)}")
    vercel_env = _VERCEL_DEPLOYMENTS.get(env.get("VERCEL_ENV", ""))
    if vercel_env is not None:
        if explicit and explicit != vercel_env:
            raise ConfigError(f"ZENTRO_ENV={explicit} cannot override a Vercel {vercel_env} deployment")
        return vercel_env
    return explicit if explicit else "development"


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _require_real_secret(name: str, value: str, *, min_length: int) -> None:
    lowered = value.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        raise ConfigError(f"{name} still holds a placeholder value")
    if len(value) < min_length:
        raise ConfigError(f"{name} must be at least {min_length} characters")


def _require_tls(database_url: str) -> None:
    query = parse_qs(urlsplit(database_url).query)
    if query.get("sslmode", [""])[0] not in ("require", "verify-ca", "verify-full"):
        raise ConfigError("DATABASE_URL must use sslmode=require (or verify-full) outside development")


def _require_key_ring(value: str) -> None:
    from lib.crypto import parse_key_ring_value  # checks the format; the ring is built where it is used

    try:
        parse_key_ring_value(value)
    except ValueError as exc:
        raise ConfigError(f"ENCRYPTION_KEYS is not a valid key ring: {exc}") from None


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None


_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def _hosts(raw: str) -> frozenset[str]:
    """A comma-separated list of host names (`portal.zeus.pe,zeus-backup.pe`): exact names, no scheme."""
    hosts = frozenset(part.strip().lower().rstrip(".") for part in raw.split(",") if part.strip())
    bad = sorted(host for host in hosts if not _HOST.match(host))
    if bad:
        raise ConfigError(f"ZEUS_PORTAL_HOSTS must list host names only (no scheme, port or path): {bad}")
    return hosts


def _origins(raw: str) -> tuple[str, ...]:
    origins = []
    for item in raw.split(","):
        origin = item.strip().rstrip("/")
        if not origin:
            continue
        if origin == "*":
            raise ConfigError("ALLOWED_ORIGINS cannot be '*'")
        parts = urlsplit(origin)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.path or parts.query:
            raise ConfigError(f"ALLOWED_ORIGINS entry {origin!r} must look like https://app.example.com")
        origins.append(origin.lower())
    return tuple(origins)
