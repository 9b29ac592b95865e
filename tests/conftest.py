"""Shared fixtures: the real criteria, commune list and catalogs, and real databases.

SQLite: a fresh file per test. PostgreSQL: one database per test run with a unique name,
created here and dropped at the end (tables emptied between tests). Without a reachable
PostgreSQL those tests are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Core, load_core
from bot.dispatcher import Dispatcher
from flows.model import Snapshot, World
from storage.db import Database
from storage.models import Base
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo

PG_ADMIN_URL = os.environ.get("CDHT_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam


@pytest.fixture(scope="session")
def core() -> Core:
    return load_core(Settings(campaign_year=2026))


@pytest.fixture
def world(core: Core) -> World:
    return core.world(NOW)


@pytest.fixture
def fresh() -> Snapshot:
    return Snapshot({})


def _pg_admin(sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the admin database."""

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_url() -> str:
    name = f"cdht_test_{uuid.uuid4().hex[:12]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        pytest.skip(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc.__class__.__name__}: {exc})"
        )
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path) -> Database:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'cdht.sqlite3'}")
        await database.migrate()
    else:
        database = Database(request.getfixturevalue("pg_url"))
        await database.migrate()
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await database.run(
            lambda conn: conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        )
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def dispatcher(db: Database, core: Core, clock: FixedClock) -> Dispatcher:
    return Dispatcher(db, core, clock)


@pytest.fixture
async def sqlite_dispatcher(tmp_path, core: Core, clock: FixedClock):
    """A dispatcher on a SQLite file of its own (the channel tests)."""
    db = Database(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    await db.migrate()
    yield Dispatcher(db, core, clock)
    await db.dispose()


@pytest.fixture
async def tg():
    """The fake Telegram Bot API (tests/fake_telegram.py), on 127.0.0.1."""
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def zalo():
    """The fake Zalo OA API and OAuth server (tests/fake_zalo.py), on 127.0.0.1."""
    fake = FakeZalo()
    await fake.start()
    yield fake
    await fake.stop()
