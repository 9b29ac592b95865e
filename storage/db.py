"""Engines for SQLite (the default) and PostgreSQL, transactions and migrations.

Storage code is written once, as plain functions of a SQLAlchemy `Connection`, and run in a
transaction by `Database.run(fn)`:

- PostgreSQL: an async engine (asyncpg); `fn` runs through `AsyncConnection.run_sync`, so
  each statement awaits the network without blocking the event loop.
- SQLite: the standard sqlite3 driver on one dedicated thread; the whole transaction is one
  hop off the event loop. SQLite has one writer at a time anyway, so one thread serialises
  writers without busy-waiting, and it is several times faster under load than a thread
  hop per statement (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the URLs people write ("postgresql://…", "sqlite:///…") and pick the driver:
    asyncpg for PostgreSQL, the standard sqlite3 module for SQLite."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in ("sqlite+aiosqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


class Database:
    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._async: AsyncEngine | None = None
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self._sync = create_engine(self.url, pool_size=1, max_overflow=0)
            _configure_sqlite(self._sync)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        else:
            self._async = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)` in one transaction: committed if it returns, rolled back if
        it raises (the exception then propagates)."""
        if self._sync is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._run_sqlite, fn
            )
        assert self._async is not None
        async with self._async.begin() as conn:
            return await conn.run_sync(fn)

    def _run_sqlite(self, fn: Callable[[Connection], T]) -> T:
        assert self._sync is not None
        with self._sync.begin() as conn:
            return fn(conn)

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        await self.run(_upgrade)

    async def dispose(self) -> None:
        if self._async is not None:
            await self._async.dispose()
        if self._sync is not None:
            self._sync.dispose()
        if self._thread is not None:
            self._thread.shutdown(wait=True)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable across application crashes in WAL mode; only an OS crash or
        # power loss can lose the last transactions.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a second bot process then waits (busy_timeout)
        # instead of failing when its read transaction tries to become a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
