"""Settings from environment variables, optionally from a `.env` file in the working
directory (real environment variables win). Every setting is documented in README.md."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from flows.criteria import DEFAULT_SET
from flows.lang import LANGUAGES
from flows.localtime import LOCAL_TZ

DEFAULT_DATABASE_URL = "sqlite:///./data/cdht.sqlite3"
TELEGRAM_API = "https://api.telegram.org"
ZALO_API = "https://openapi.zalo.me"
ZALO_OAUTH = "https://oauth.zaloapp.com"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message says which and how to fix it."""


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram channel is on when a bot token is set. With a webhook URL Telegram
    pushes updates to us; without one the bot polls (getUpdates)."""

    token: str = field(repr=False)
    api_base_url: str = TELEGRAM_API
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    max_per_second: float = 30.0  # messages/s over all chats; 0: no limit
    max_per_chat_per_second: float = 1.0  # messages/s to one chat after a short burst; 0: none

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url).path or "/"


@dataclass(frozen=True)
class ZaloSettings:
    """The Zalo Official Account channel is on when an app id is set. Zalo pushes events
    to our webhook; we answer through the OA API with a token we refresh ourselves."""

    app_id: str
    app_secret: str = field(repr=False)
    oa_secret_key: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)  # the first one; then the database's
    api_base_url: str = ZALO_API
    oauth_base_url: str = ZALO_OAUTH
    webhook_path: str = "/zalo/webhook"
    monthly_quota: int = 1000  # proactive messages a month (a verified OA's free allowance)
    # Signed events older than this are refused (a replay); Zalo's own retries after an
    # outage longer than this are refused too.
    max_event_age: timedelta = timedelta(minutes=10)
    # The key that seals the OA's tokens in the database (CDHT_SECRET_KEY, a Fernet key);
    # "": one derived from the app secret and the OA secret key.
    secret_key: str = field(default="", repr=False)
    # Where people reach our web server from outside ("https://bot.example.vn"): exports,
    # which the OA cannot send as files, are offered as links under it. "": no links.
    public_url: str = ""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    language: str = "vi"
    campaign_year: int = 0  # 0: the calendar year in Vietnam at each moment
    criteria: str = DEFAULT_SET
    deadlines: str = ""  # the default deadlines' YAML file; "": the one shipped
    digest_at: time = time(7, 0)  # the admins' daily digest, Vietnam time
    db_wait: float = 60.0  # seconds to wait at start for a database that is not available
    log_level: str = "INFO"
    port: int = 8080  # the web server for webhooks and /healthz
    host: str = "0.0.0.0"
    telegram: TelegramSettings | None = None
    zalo: ZaloSettings | None = None
    # What the communes' posters carry: the Telegram bot's username (for its QR code) and
    # the Zalo OA's follow link; "" when not configured.
    telegram_username: str = ""
    zalo_oa_link: str = ""

    @staticmethod
    def from_env(env: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
        if env is None:
            if dotenv is not None and dotenv.is_file():
                load_dotenv(dotenv, override=False)
            env = dict(os.environ)
        language = env.get("CDHT_LANGUAGE", "vi").strip().lower() or "vi"
        if language not in LANGUAGES:
            raise SettingsError(
                f"CDHT_LANGUAGE={language!r} is not supported; use one of {', '.join(LANGUAGES)}."
            )
        year_text = env.get("CDHT_CAMPAIGN_YEAR", "").strip()
        year = 0  # the calendar year
        if year_text:
            if not (year_text.isascii() and year_text.isdigit() and 2020 <= int(year_text) <= 2100):
                raise SettingsError(
                    f"CDHT_CAMPAIGN_YEAR={year_text!r} must be a year such as "
                    f"{datetime.now(LOCAL_TZ).year}."
                )
            year = int(year_text)
        digest_text = env.get("CDHT_DIGEST_AT", "").strip() or "07:00"
        digest_match = re.fullmatch(r"(\d{1,2})[:h](\d{2})", digest_text)
        if not digest_match or int(digest_match[1]) > 23 or int(digest_match[2]) > 59:
            raise SettingsError(
                f"CDHT_DIGEST_AT={digest_text!r} must be a time of day such as 07:00."
            )
        wait_text = env.get("CDHT_DB_WAIT", "").strip() or "60"
        if not (wait_text.isascii() and wait_text.isdigit() and int(wait_text) <= 86400):
            raise SettingsError(
                f"CDHT_DB_WAIT={wait_text!r} must be a number of seconds such as 60 (0: do "
                "not wait)."
            )
        port_text = env.get("PORT", "").strip() or "8080"
        if not (port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535):
            raise SettingsError(f"PORT={port_text!r} must be a port number such as 8080.")
        telegram, zalo = _telegram(env), _zalo(env)
        if (
            telegram
            and zalo
            and telegram.webhook_url
            and telegram.webhook_path == zalo.webhook_path
        ):
            raise SettingsError(
                f"TELEGRAM_WEBHOOK_URL and ZALO_WEBHOOK_PATH both use {zalo.webhook_path}: "
                "give each channel its own path."
            )
        username = env.get("TELEGRAM_BOT_USERNAME", "").strip().removeprefix("@")
        if username and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]", username):
            raise SettingsError(
                f"TELEGRAM_BOT_USERNAME={username!r} must be the bot's username as "
                "@BotFather shows it, e.g. cdht_hatinh_bot."
            )
        oa_link = env.get("ZALO_OA_LINK", "").strip()
        link = urlsplit(oa_link)
        if oa_link and not (
            link.scheme == "https"
            and link.netloc in ("zalo.me", "oa.zalo.me")
            and link.path.strip("/")
        ):
            raise SettingsError(
                f"ZALO_OA_LINK={oa_link!r} must be the Official Account's follow link, e.g. "
                "https://zalo.me/1234567890123456789 (Zalo OA Manager shows it with the QR code)."
            )
        return Settings(
            database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            language=language,
            campaign_year=year,
            criteria=env.get("CDHT_CRITERIA", "").strip() or DEFAULT_SET,
            deadlines=env.get("CDHT_DEADLINES", "").strip(),
            digest_at=time(int(digest_match[1]), int(digest_match[2])),
            db_wait=float(wait_text),
            log_level=env.get("CDHT_LOG_LEVEL", "INFO").strip().upper() or "INFO",
            port=int(port_text),
            host=env.get("CDHT_HOST", "").strip() or "0.0.0.0",
            telegram=telegram,
            zalo=zalo,
            telegram_username=username,
            zalo_oa_link=oa_link,
        )


def _rate(env: dict[str, str], key: str, default: float) -> float:
    text = env.get(key, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise SettingsError(f"{key}={text!r} must be a number of messages per second, or 0.")
    return value


def _telegram(env: dict[str, str]) -> TelegramSettings | None:
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        return None
    if ":" not in token:
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (it has the form "
            "123456789:AA...; @BotFather gives it)."
        )
    base = _base_url(env, "TELEGRAM_API_BASE_URL", TELEGRAM_API)
    webhook = env.get("TELEGRAM_WEBHOOK_URL", "").strip()
    secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if webhook:
        if urlsplit(webhook).scheme not in ("http", "https") or not urlsplit(webhook).netloc:
            raise SettingsError(
                f"TELEGRAM_WEBHOOK_URL={webhook!r} must be the public https:// address of "
                "this bot's webhook, e.g. https://bot.example.vn/telegram."
            )
        if secret and not _SECRET_TOKEN.fullmatch(secret):
            raise SettingsError(
                "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -."
            )
        # No secret given: derive one from the token, so that every process of this bot
        # agrees on it without another setting to keep in sync.
        secret = secret or hashlib.sha256(b"cdht-webhook:" + token.encode()).hexdigest()
    return TelegramSettings(
        token=token,
        api_base_url=base,
        webhook_url=webhook,
        webhook_secret=secret,
        max_per_second=_rate(env, "TELEGRAM_MAX_MESSAGES_PER_SECOND", 30.0),
        max_per_chat_per_second=_rate(env, "TELEGRAM_MAX_MESSAGES_PER_CHAT_PER_SECOND", 1.0),
    )


def _base_url(env: dict[str, str], key: str, default: str) -> str:
    base = env.get(key, "").strip().rstrip("/") or default
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise SettingsError(f"{key}={base!r} must be an address starting with https://.")
    return base


def _public_url(env: dict[str, str]) -> str:
    if not env.get("CDHT_PUBLIC_URL", "").strip():
        return ""
    return _base_url(env, "CDHT_PUBLIC_URL", "")


def _secret_key(env: dict[str, str]) -> str:
    key = env.get("CDHT_SECRET_KEY", "").strip()
    if key:
        from cryptography.fernet import Fernet

        try:
            Fernet(key)
        except ValueError as exc:
            raise SettingsError(
                "CDHT_SECRET_KEY must be a Fernet key (44 characters); make one with: "
                '.venv/bin/python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from exc
    return key


def _zalo(env: dict[str, str]) -> ZaloSettings | None:
    app_id = env.get("ZALO_APP_ID", "").strip()
    if not app_id:
        return None
    missing = [
        key for key in ("ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY") if not env.get(key, "").strip()
    ]
    if missing:
        raise SettingsError(
            f"ZALO_APP_ID is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'}"
            " not: both are on the app's page at developers.zalo.me (the OA Secret Key is under "
            "Webhook)."
        )
    path = env.get("ZALO_WEBHOOK_PATH", "").strip() or "/zalo/webhook"
    if not path.startswith("/") or path == "/healthz":
        raise SettingsError(f"ZALO_WEBHOOK_PATH={path!r} must be a path such as /zalo/webhook.")
    age_text = env.get("ZALO_MAX_EVENT_AGE", "").strip() or "600"
    if not (age_text.isascii() and age_text.isdigit() and 30 <= int(age_text) <= 86400):
        raise SettingsError(
            f"ZALO_MAX_EVENT_AGE={age_text!r} must be a number of seconds from 30 to 86400, "
            "such as 600."
        )
    quota_text = env.get("ZALO_MONTHLY_QUOTA", "").strip() or "1000"
    if not (quota_text.isascii() and quota_text.isdigit()):
        raise SettingsError(
            f"ZALO_MONTHLY_QUOTA={quota_text!r} must be a number of messages, such as 1000."
        )
    return ZaloSettings(
        app_id=app_id,
        app_secret=env["ZALO_APP_SECRET"].strip(),
        oa_secret_key=env["ZALO_OA_SECRET_KEY"].strip(),
        refresh_token=env.get("ZALO_REFRESH_TOKEN", "").strip(),
        api_base_url=_base_url(env, "ZALO_API_BASE_URL", ZALO_API),
        oauth_base_url=_base_url(env, "ZALO_OAUTH_BASE_URL", ZALO_OAUTH),
        webhook_path=path,
        monthly_quota=int(quota_text),
        max_event_age=timedelta(seconds=int(age_text)),
        secret_key=_secret_key(env),
        public_url=_public_url(env),
    )
