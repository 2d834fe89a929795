from __future__ import annotations

import pytest

from lib.config import ConfigError, Secret, Settings
from lib.crypto import KeyRing

GOOD_SECRET = "k3vQ9w0Zb1nT7yR4pL2sX8aC6dF5gH0j"
NEON_URL = "postgresql://app:s3cr3tpw@ep-cool-1234-pooler.us-east-2.aws.neon.tech/zentro?sslmode=require"


KEYS = KeyRing.generate_value(1)
PEPPER = "Zq9w0Zb1nT7yR4pL2sX8aC6dF5gH0jK3vQ"
BLOB_TOKEN = "vercel_blob_rw_Kq3Zt8RmXa1B2c3D_Vn4Pq7Rs2Tu9Wx1Yz3Ab5Cd7Ef9Gh2Jk4"


def prod_env(**overrides: str) -> dict[str, str]:
    env = {
        "VERCEL": "1",
        "VERCEL_ENV": "production",
        "DATABASE_URL": NEON_URL,
        "CRON_SECRET": GOOD_SECRET,
        "PASSWORD_PEPPER": PEPPER,
        "ENCRYPTION_KEYS": KEYS,
        "RESEND_API_KEY": "re_test_0123456789abcdef",
        "BLOB_READ_WRITE_TOKEN": BLOB_TOKEN,
        "APP_BASE_URL": "https://app.zentro.one",
        "BROWSERBASE_API_KEY": "bb_live_0123456789abcdef",
        "BROWSERBASE_PROJECT_ID": "4f1b2c3d-0000-4000-8000-000000000001",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def test_production_starts_with_real_secrets() -> None:
    settings = Settings.from_env(prod_env())
    assert settings.environment == "production"
    assert settings.deployed and settings.on_vercel
    assert settings.database_url.reveal().startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    "missing",
    [
        "DATABASE_URL",
        "CRON_SECRET",
        "PASSWORD_PEPPER",
        "ENCRYPTION_KEYS",
        "RESEND_API_KEY",
        "APP_BASE_URL",
    ],
)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = prod_env()
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "placeholder", ["change-me-change-me-change-me-change", "<your cron secret here, 32+ chars>", "short"]
)
def test_production_refuses_placeholder_or_weak_cron_secret(placeholder: str) -> None:
    with pytest.raises(ConfigError, match="CRON_SECRET"):
        Settings.from_env(prod_env(CRON_SECRET=placeholder))


def test_production_database_must_use_tls() -> None:
    plain = NEON_URL.replace("?sslmode=require", "")
    with pytest.raises(ConfigError, match="sslmode"):
        Settings.from_env(prod_env(DATABASE_URL=plain))
    assert Settings.from_env(prod_env(DATABASE_URL=plain + "?sslmode=verify-full")).deployed


def test_development_needs_only_its_own_local_secrets() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://zentro_api@/zentro?host=/tmp/x",
            "PASSWORD_PEPPER": PEPPER,
            "ENCRYPTION_KEYS": KEYS,
        }
    )
    assert settings.environment == "development"
    assert not settings.deployed
    assert settings.cron_secret is None
    assert settings.resend_api_key is None


def test_production_cookies_are_secure_and_host_prefixed_and_cannot_be_downgraded() -> None:
    settings = Settings.from_env(prod_env())
    assert settings.session_cookie_secure
    assert settings.session_cookie_name == "__Host-zentro_session"
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        Settings.from_env(prod_env(SESSION_COOKIE_SECURE="false"))
    local = Settings.from_env(
        {"DATABASE_URL": "postgresql://x@/y?host=/tmp", "PASSWORD_PEPPER": PEPPER, "ENCRYPTION_KEYS": KEYS}
    )
    assert not local.session_cookie_secure
    assert local.session_cookie_name == "zentro_session"


def test_production_bcrypt_cost_is_at_least_12() -> None:
    with pytest.raises(ConfigError, match="BCRYPT_COST"):
        Settings.from_env(prod_env(BCRYPT_COST="10"))
    assert Settings.from_env(prod_env(BCRYPT_COST="13")).bcrypt_cost == 13


def test_an_invalid_key_ring_stops_the_app() -> None:
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        Settings.from_env(prod_env(ENCRYPTION_KEYS="1:c2hvcnQ"))


def test_a_vercel_deployment_cannot_be_downgraded_to_development() -> None:
    with pytest.raises(ConfigError, match="cannot override"):
        Settings.from_env(prod_env(ZENTRO_ENV="development"))
    assert Settings.from_env(prod_env(ZENTRO_ENV="production")).environment == "production"


def test_preview_deployments_are_as_strict_as_production() -> None:
    env = prod_env(VERCEL_ENV="preview")
    del env["CRON_SECRET"]
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_unknown_environment_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="ZENTRO_ENV"):
        Settings.from_env({"DATABASE_URL": NEON_URL, "ZENTRO_ENV": "prod", "PASSWORD_PEPPER": PEPPER})


def test_audit_retention_cannot_go_below_90_days() -> None:
    with pytest.raises(ConfigError, match="AUDIT_RETENTION_DAYS"):
        Settings.from_env(prod_env(AUDIT_RETENTION_DAYS="30"))
    assert Settings.from_env(prod_env(AUDIT_RETENTION_DAYS="365")).audit_retention_days == 365


def test_allowed_origins_are_origins_and_never_a_wildcard() -> None:
    with pytest.raises(ConfigError, match="cannot be"):
        Settings.from_env(prod_env(ALLOWED_ORIGINS="*"))
    with pytest.raises(ConfigError, match="must look like"):
        Settings.from_env(prod_env(ALLOWED_ORIGINS="https://app.zentro.one/path"))
    settings = Settings.from_env(prod_env(ALLOWED_ORIGINS="https://App.Zentro.one/, https://admin.zentro.one"))
    assert settings.allowed_origins == ("https://app.zentro.one", "https://admin.zentro.one")


def test_secrets_never_appear_in_repr() -> None:
    settings = Settings.from_env(prod_env())
    text = repr(settings) + str(settings)
    assert GOOD_SECRET not in text
    assert PEPPER not in text
    assert KEYS.split(":", 1)[1] not in text
    assert "s3cr3tpw" not in text
    assert repr(Secret("hunter2")) == "Secret('**********')"
    assert Secret("hunter2").reveal() == "hunter2"


def test_production_refuses_to_start_without_a_blob_token() -> None:
    assert Settings.from_env(prod_env()).blob_read_write_token == Secret(BLOB_TOKEN)
    for environment in ("production", "preview"):
        env = prod_env(VERCEL_ENV=environment, STORAGE_DIR="/srv/zentro/files")
        del env["BLOB_READ_WRITE_TOKEN"]
        with pytest.raises(ConfigError, match="BLOB_READ_WRITE_TOKEN is required"):
            Settings.from_env(env)


@pytest.mark.parametrize(
    "placeholder",
    [
        "vercel_blob_rw_<store id>_<secret>",
        "vercel_blob_rw_change-me_change-me-change-me-change-me",
        "vercel_blob_rw_xxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "vercel_blob_rw_short_1",
    ],
)
def test_production_refuses_a_placeholder_blob_token(placeholder: str) -> None:
    with pytest.raises(ConfigError, match="BLOB_READ_WRITE_TOKEN") as caught:
        Settings.from_env(prod_env(BLOB_READ_WRITE_TOKEN=placeholder))
    assert placeholder not in str(caught.value)


def test_a_blob_token_must_look_like_one_everywhere() -> None:
    local = {"DATABASE_URL": "postgresql://x@/y?host=/tmp", "PASSWORD_PEPPER": PEPPER, "ENCRYPTION_KEYS": KEYS}
    with pytest.raises(ConfigError, match="vercel_blob_rw_"):
        Settings.from_env({**local, "BLOB_READ_WRITE_TOKEN": "re_test_0123456789abcdef"})
    with pytest.raises(ConfigError, match="vercel_blob_rw_"):
        Settings.from_env(prod_env(BLOB_READ_WRITE_TOKEN="Vn4Pq7Rs2Tu9Wx1Yz3Ab5Cd7Ef9Gh2Jk4Lm6Np8"))
    settings = Settings.from_env({**local, "STORAGE_DIR": " /srv/zentro/files "})
    assert settings.blob_read_write_token is None and settings.storage_dir == "/srv/zentro/files"
    assert Settings.from_env({**local, "BLOB_READ_WRITE_TOKEN": BLOB_TOKEN}).blob_read_write_token is not None
    assert "Vn4Pq7Rs2Tu9" not in repr(Settings.from_env(prod_env()))


def test_browserbase_settings_come_together_and_a_local_api_url_is_refused_when_deployed() -> None:
    local = {"DATABASE_URL": "postgresql://x@/y?host=/tmp", "PASSWORD_PEPPER": PEPPER, "ENCRYPTION_KEYS": KEYS}
    with pytest.raises(ConfigError, match="together"):
        Settings.from_env({**local, "BROWSERBASE_API_KEY": "bb_test_key"})
    both = Settings.from_env(
        {
            **local,
            "BROWSERBASE_API_KEY": "bb_test_key",
            "BROWSERBASE_PROJECT_ID": "p",
            "BROWSERBASE_BASE_URL": "http://127.0.0.1:9",
        }
    )
    assert both.browserbase_project_id == "p" and both.browserbase_base_url == "http://127.0.0.1:9"
    assert "bb_test_key" not in repr(both)
    with pytest.raises(ConfigError, match="BROWSERBASE_BASE_URL"):
        Settings.from_env(prod_env(BROWSERBASE_BASE_URL="http://127.0.0.1:9"))
    assert Settings.from_env(prod_env()).browserbase_base_url is None


def test_zeus_portal_hosts_are_host_names_only() -> None:
    listed = Settings.from_env(prod_env(ZEUS_PORTAL_HOSTS="Portal.Zeus.pe, zeus-backup.pe."))
    assert listed.zeus_portal_hosts == frozenset({"portal.zeus.pe", "zeus-backup.pe"})
    assert Settings.from_env(prod_env()).zeus_portal_hosts == frozenset()  # none: no portal is accepted
    for bad in ("https://portal.zeus.pe", "portal.zeus.pe:443", "portal.zeus.pe/login", "localhost", "*.zeus.pe"):
        with pytest.raises(ConfigError, match="ZEUS_PORTAL_HOSTS"):
            Settings.from_env(prod_env(ZEUS_PORTAL_HOSTS=bad))
