from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import DEFAULT_DATABASE_URL, Settings, SettingsError
from bot.core import load_core
from flows.localtime import LOCAL_TZ
from storage.db import normalise_url


def test_defaults_open_sqlite_in_vietnamese_for_this_year():
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.language == "vi"
    assert settings.campaign_year == 0  # the calendar year in Vietnam, at each moment
    core = load_core(settings)
    assert core.year(datetime.now(LOCAL_TZ)) == datetime.now(LOCAL_TZ).year
    assert core.year(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == 2027  # 00:30 in Vietnam


def test_values_from_the_environment():
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://h/db", "CDHT_LANGUAGE": "EN", "CDHT_CAMPAIGN_YEAR": "2025"}
    )
    assert (settings.database_url, settings.language, settings.campaign_year) == (
        "postgresql://h/db",
        "en",
        2025,
    )


@pytest.mark.parametrize(
    ("key", "value"), [("CDHT_LANGUAGE", "fr"), ("CDHT_CAMPAIGN_YEAR", "next")]
)
def test_bad_values_say_what_to_fix(key, value):
    with pytest.raises(SettingsError, match=key):
        Settings.from_env({key: value})


def test_dotenv_file_is_read_but_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("CDHT_LANGUAGE=en\nCDHT_CAMPAIGN_YEAR=2027\n")
    monkeypatch.setenv("CDHT_CAMPAIGN_YEAR", "2026")
    # setenv first, so that the value .env puts into os.environ is undone after the test
    monkeypatch.setenv("CDHT_LANGUAGE", "vi")
    monkeypatch.delenv("CDHT_LANGUAGE")
    settings = Settings.from_env(dotenv=tmp_path / ".env")
    assert (settings.language, settings.campaign_year) == ("en", 2026)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://127.0.0.1/test", "postgresql+psycopg://127.0.0.1/test"),
        ("postgresql+asyncpg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///data/x.sqlite3", "sqlite:///data/x.sqlite3"),
        ("sqlite+aiosqlite:///x", "sqlite:///x"),
    ],
)
def test_database_urls_pick_the_async_driver(given, used):
    assert normalise_url(given) == used


ZALO = {
    "ZALO_APP_ID": "4318470961230485121",
    "ZALO_APP_SECRET": "s",
    "ZALO_OA_SECRET_KEY": "k",
    "ZALO_REFRESH_TOKEN": "r",
}


def test_zalo_is_on_with_an_app_id_and_has_defaults():
    assert Settings.from_env({}).zalo is None
    zalo = Settings.from_env(ZALO).zalo
    assert zalo is not None
    assert (zalo.app_id, zalo.webhook_path, zalo.monthly_quota) == (
        "4318470961230485121",
        "/zalo/webhook",
        1000,
    )
    assert zalo.api_base_url == "https://openapi.zalo.me"
    assert zalo.oauth_base_url == "https://oauth.zaloapp.com"
    assert "app_secret" not in repr(zalo) and "'r'" not in repr(zalo)  # secrets stay out of logs
    assert zalo.public_url == ""  # no links to exports
    public = Settings.from_env({**ZALO, "CDHT_PUBLIC_URL": "https://bot.example.vn/ "}).zalo
    assert public is not None and public.public_url == "https://bot.example.vn"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ZALO_APP_SECRET": ""}, "ZALO_APP_SECRET"),
        ({"ZALO_OA_SECRET_KEY": " "}, "ZALO_OA_SECRET_KEY"),
        ({"ZALO_WEBHOOK_PATH": "zalo"}, "ZALO_WEBHOOK_PATH"),
        ({"ZALO_MONTHLY_QUOTA": "lots"}, "ZALO_MONTHLY_QUOTA"),
        ({"ZALO_API_BASE_URL": "openapi.zalo.me"}, "ZALO_API_BASE_URL"),
        ({"CDHT_PUBLIC_URL": "bot.example.vn"}, "CDHT_PUBLIC_URL"),
        (
            {
                "ZALO_WEBHOOK_PATH": "/hook",
                "TELEGRAM_BOT_TOKEN": "1:x",
                "TELEGRAM_WEBHOOK_URL": "https://bot.example.vn/hook",
            },
            "own path",
        ),
    ],
)
def test_zalo_settings_that_cannot_work_say_what_to_fix(changes, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**ZALO, **changes})
