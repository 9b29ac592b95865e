"""Engines for SQLite (the default) and PostgreSQL, transactions and migrations.

Storage code is written once, as plain functions of a SQLAlchemy `Connection`, and
`Database.run(fn)` runs one of them in a transaction on a small thread pool, so a whole
transaction is a single hop off the event loop:

- SQLite: the standard sqlite3 driver on one thread. SQLite has one writer at a time, so one
  thread serialises writers without busy-waiting.
- PostgreSQL: psycopg 3 on a few threads (4 by default; the driver releases the GIL while it
  waits for the server), each with its own pooled connection.

Measured on this project's 2-core machine, this is several times faster under load than an
async driver awaited statement by statement (docs/PERFORMANCE.md has the figures).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

if TYPE_CHECKING:
    from flows.places import Area

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_THREADS = 4
# A PostgreSQL that stops answering (a network cut, a server frozen) fails a call after
# about half a minute instead of holding a database thread for ever: libpq's timeouts.
POSTGRES_TIMEOUTS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms: data sent and not acknowledged
}
T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the URLs people write ("postgresql://…", "sqlite:///…") and pick the driver:
    psycopg 3 for PostgreSQL, the standard sqlite3 module for SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


class PerDialect(Generic[T]):
    """Something built once per SQL dialect and reused, such as a module's statements
    built with bind parameters: building a SQLAlchemy statement costs more than running
    it on SQLite, so hot paths only pass values."""

    def __init__(self, build: Callable[[str], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def __call__(self, conn: Connection) -> T:
        name = conn.dialect.name
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]


def in_area(area: Area, province: Any, commune: Any) -> list[Any]:
    """The conditions for rows of `area`, given its table's province and commune columns
    (none for the whole deployment)."""
    if area.commune is not None:
        return [commune == area.commune]
    if area.province is not None:
        return [province == area.province]
    return []


def dialect_insert(conn: Connection) -> Any:
    """The INSERT with ON CONFLICT of the connection's database (PostgreSQL or SQLite)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def run_batch(conn: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> Any:
    """Run a statement for many rows: executemany on SQLite; on PostgreSQL the rows go as
    one JSON parameter `:rows` (the statement reads them with jsonb_to_recordset), since
    binding thousands of parameters costs several times what the server needs for them."""
    if conn.dialect.name != "postgresql":
        return conn.execute(statement, list(rows))
    return conn.execute(statement, {"rows": json.dumps(list(rows), default=_iso)})


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


class DatabaseUnavailable(Exception):
    """The database cannot be reached or written now (down, restarting, a full disk, a
    read-only file): nothing was saved, and trying again later will work. Callers keep
    what they were given and retry; the outage is logged once (see Outage)."""


# SQLite result codes that mean "not now", not "this is wrong".
_SQLITE_UNAVAILABLE = (
    *("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY"),
    *("SQLITE_CANTOPEN", "SQLITE_NOMEM", "SQLITE_PROTOCOL"),
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database is unavailable rather than a statement wrong."""
    if isinstance(exc, DatabaseUnavailable | sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return False
    name = getattr(exc.orig, "sqlite_errorname", None)
    if name is not None:
        return str(name).startswith(_SQLITE_UNAVAILABLE)
    return True  # PostgreSQL: connection failures, shutdown, out of disk or connections


class Outage:
    """Database failures while the bot runs, logged as one line when they start and one
    when they end (with how many operations failed meanwhile), not one per operation: a
    15-second outage under load is thousands of failed operations."""

    def __init__(self) -> None:
        self.since: float | None = None  # time.monotonic() of the first failure
        self.failures = 0
        self.reason = ""
        self.quiet = False  # the caller says so itself (waiting for the database at start)

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.since is None:
            self.since, self.reason = time.monotonic(), describe(exc)
            if self.quiet:
                return
            log.error(
                "The database is unavailable (%s). What people send is kept and answered "
                "when it is back; the bot keeps trying.",
                self.reason,
            )

    def ok(self) -> None:
        if self.since is not None and not self.quiet:
            log.warning(
                "The database is available again after %.1f s; %d operations failed "
                "meanwhile and are being retried.",
                time.monotonic() - self.since,
                self.failures,
            )
        self.since, self.failures, self.reason = None, 0, ""


def describe(exc: BaseException) -> str:
    """A database error for the log, without the values in it: drivers quote the data
    that failed (a typed name in PostgreSQL's "invalid input syntax" message, say), and
    logs must not hold personal data. The error's class, its SQLSTATE and where it was
    raised in our code say enough to find the cause."""
    if isinstance(exc, DatabaseUnavailable):
        return f"unavailable: {exc}"  # made with describe() already
    inner = getattr(exc, "orig", None) or exc
    parts = [type(exc).__name__]
    if inner is not exc:
        parts.append(type(inner).__name__)
    sqlstate = getattr(inner, "sqlstate", None) or getattr(inner, "sqlite_errorname", None)
    if sqlstate:
        parts.append(str(sqlstate))
    where = _our_frame(exc)
    return " / ".join(parts) + (f" at {where}" if where else "")


def stack(exc: BaseException) -> str:
    """The traceback of an error without its message (which may quote data): where it
    happened, for the operator."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"Traceback (most recent call last):\n{frames}{type(exc).__name__} (message left out)"


def _our_frame(exc: BaseException) -> str:
    """The innermost frame of the traceback in this project's code: file and line."""
    found = ""
    tb = exc.__traceback__
    root = Path(__file__).resolve().parent.parent
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename)
        if root in path.parents and ".venv" not in path.parts:
            found = f"{path.relative_to(root)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


class Workers(ThreadPoolExecutor):
    """The database's threads, taking work in order, except that urgent work (small writes
    that must not wait behind a queue of steps: marking replies sent) goes first: each job
    first does the urgent work waiting, and an urgent job also queues a job that only
    does that, for when nothing else is queued."""

    def __init__(self, count: int, name: str) -> None:
        super().__init__(max_workers=count, thread_name_prefix=name)
        self.count = count
        self._urgent: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], Any]] = (
            queue.SimpleQueue()
        )

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(self._after_urgent, fn, *args, **kwargs)

    def submit_urgent(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._urgent.put((future, fn, args))
        try:
            super().submit(self._run_urgent)
        except RuntimeError:  # shut down: the caller is told, and the work never runs
            future.cancel()
            raise
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if cancel_futures:  # urgent work no job will run now: its callers are told
            while not self._urgent.empty():
                self._urgent.get_nowait()[0].cancel()

    def _after_urgent(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if not self._urgent.empty():
            self._run_urgent()
        return fn(*args, **kwargs)

    def _run_urgent(self) -> None:
        while not self._urgent.empty():
            try:
                future, fn, args = self._urgent.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)


class Database:
    def __init__(self, url: str, threads: int = POSTGRES_THREADS) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            threads = 1
        # hide_parameters: errors and logs never show values (names, phone numbers).
        self.engine: Engine = create_engine(
            self.url,
            pool_size=threads,
            max_overflow=0,
            pool_pre_ping=not self.is_sqlite,
            pool_recycle=1800,
            hide_parameters=True,
            connect_args={} if self.is_sqlite else POSTGRES_TIMEOUTS,
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._threads = Workers(threads, "db")
        self._forgetting: set[asyncio.Task[bool]] = set()
        self.outage = Outage()
        # Long reads (a national digest, an export) on SQLite: a connection and thread of
        # their own, reading a WAL snapshot while the writer goes on. PostgreSQL: the pool.
        self._reader: Engine | None = None
        self._reader_thread: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            self._reader = create_engine(self.url, pool_size=1, max_overflow=0)
            _configure_sqlite(self._reader, write=False)
            self._reader_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-read")

    @property
    def address(self) -> str:
        """Where the database is, for messages (without a password)."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)` in one transaction: committed if it returns, rolled back if
        it raises (the exception then propagates; DatabaseUnavailable when the database
        cannot be reached or written)."""
        return await self._watched(self._threads, self._transaction, fn)

    async def urgent(self, fn: Callable[[Connection], T]) -> T:
        """`run`, ahead of the work queued: for small writes that must happen soon (a reply
        marked sent: a crash before that sends it again)."""
        return await self._watched(self._threads, self._transaction, fn, urgent=True)

    async def _watched(
        self,
        threads: Executor,
        call: Callable[[Callable[[Connection], T]], T],
        fn: Callable[[Connection], T],
        urgent: bool = False,
    ) -> T:
        try:
            if urgent and isinstance(threads, Workers):
                result = await asyncio.wrap_future(threads.submit_urgent(call, fn))
            else:
                result = await asyncio.get_running_loop().run_in_executor(threads, call, fn)
        except Exception as exc:
            if is_unavailable(exc):
                self.outage.failed(exc)
                raise DatabaseUnavailable(describe(exc)) from exc
            raise
        self.outage.ok()
        return result

    def _transaction(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)`, which only reads, without holding up the writers."""
        if self._reader is None or self._reader_thread is None:
            return await self.run(fn)
        reader = self._reader

        def snapshot(fn: Callable[[Connection], T]) -> T:
            with reader.begin() as conn:
                return fn(conn)

        return await self._watched(self._reader_thread, snapshot, fn)

    FORGET_TRIES = (1.0, 5.0, 15.0, 60.0, 300.0)  # seconds before each checkpoint try

    def forget_deleted(self) -> asyncio.Task[bool] | None:
        """Rows just deleted leave no trace in the files: SQLite overwrites deleted
        content (secure_delete) in the database file, and a checkpoint empties the
        write-ahead log, which still holds the pages as they were. The checkpoint runs in
        the background on a connection of its own, waiting only briefly for readers (an
        export being read) and trying again later, so it never holds up the writers.
        (PostgreSQL keeps dead rows until VACUUM, which autovacuum runs.)"""
        if not self.is_sqlite:
            return None
        task = asyncio.create_task(self._forget_soon())
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)
        return task

    async def _forget_soon(self) -> bool:
        for pause in self.FORGET_TRIES:
            await asyncio.sleep(pause)
            try:
                if await asyncio.to_thread(self._checkpoint):
                    return True
            except sqlite3.Error as exc:
                log.warning("checkpoint after a deletion failed (%s); trying later", describe(exc))
        log.warning("deleted data may stay in the write-ahead log until the next checkpoint")
        return False

    def _checkpoint(self) -> bool:
        """Empty the write-ahead log into the database file; False if readers kept it."""
        path = make_url(self.url).database
        conn = sqlite3.connect(path or ":memory:", timeout=0.5)
        try:
            busy: int = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            return busy == 0
        finally:
            conn.close()

    async def warm_up(self) -> None:
        """Open every pooled connection now, not during the first burst of traffic."""
        if self.is_sqlite:
            return

        def hold(conn: Connection) -> None:
            conn.exec_driver_sql("SELECT 1")
            time.sleep(0.05)  # keep it, so that the next call opens another one

        await asyncio.gather(*(self.run(hold) for _ in range(self._threads.count)))

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        await self.run(_upgrade)

    async def dispose(self) -> None:
        for task in list(self._forgetting):  # closing the last connection checkpoints too
            task.cancel()
        # Waiting for the threads' last work happens off the event loop: that work may be
        # waiting on the network, which the loop may be serving (a proxy, a test's server).
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        self._threads.shutdown(wait=True)
        self.engine.dispose()
        if self._reader is not None and self._reader_thread is not None:
            self._reader_thread.shutdown(wait=True)
            self._reader.dispose()


MIGRATION_LOCK = 70_2025  # any constant: one PostgreSQL advisory lock for migrations


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Processes started together wait for each other here: the first migrates, the
        # others then find the schema up to date (SQLite's write lock does the same).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _configure_sqlite(engine: Engine, write: bool = True) -> None:
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
        # Deleted content is overwritten, not left in free pages (see forget_deleted).
        cursor.execute("PRAGMA secure_delete=ON")
        if not write:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a second bot process then waits (busy_timeout)
        # instead of failing when its read transaction tries to become a write. A reader
        # takes a snapshot when it first reads.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
