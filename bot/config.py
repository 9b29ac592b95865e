"""Settings from environment variables, optionally from a `.env` file in the working
directory (real environment variables win). Every setting is documented in README.md."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dotenv import load_dotenv

from flows.criteria import DEFAULT_SET
from flows.lang import LANGUAGES, LOCAL_TZ

DEFAULT_DATABASE_URL = "sqlite:///./data/cdht.sqlite3"


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    language: str = "vi"
    campaign_year: int = 0  # 0: the current year in Vietnam
    criteria: str = DEFAULT_SET
    log_level: str = "INFO"

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
        year = datetime.now(LOCAL_TZ).year
        if year_text:
            if not (year_text.isdigit() and 2020 <= int(year_text) <= 2100):
                raise SettingsError(
                    f"CDHT_CAMPAIGN_YEAR={year_text!r} must be a year such as {year}."
                )
            year = int(year_text)
        return Settings(
            database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            language=language,
            campaign_year=year,
            criteria=env.get("CDHT_CRITERIA", "").strip() or DEFAULT_SET,
            log_level=env.get("CDHT_LOG_LEVEL", "INFO").strip().upper() or "INFO",
        )
