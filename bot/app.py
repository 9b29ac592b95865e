"""Opening the bot's database, shared by every `cdht` command: created or migrated, with
the default deadlines it lacks."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from functools import partial
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.data import (
    DEFAULT_DEADLINES,
    load_deadline_defaults,
    load_gazetteer,
    load_retired_deadlines,
)
from storage import deadlines
from storage.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)


def _detail(exc: BaseException) -> str:
    """What the driver said about a connection that failed (refused, a wrong password, no
    such database): said to the operator at start, where no person's data is involved."""
    cause = getattr(exc.__cause__, "orig", None)
    if cause is None or getattr(cause, "sqlstate", None):
        return ""
    text = str(cause).strip()
    return f": {text.splitlines()[0][:200]}" if text else ""


async def open_db(settings: Settings) -> Database:
    """The database, migrated, with the default deadlines it lacks (a new one gets all).
    When it cannot be reached or written (a server still starting, a full disk, a
    read-only file), says so in one line and tries again with growing pauses for up to
    CDHT_DB_WAIT seconds; then raises DatabaseUnavailable."""
    path = Path(settings.deadlines) if settings.deadlines else DEFAULT_DEADLINES
    defaults = load_deadline_defaults(load_gazetteer(), path)
    retired = dict(load_retired_deadlines(path))
    db = Database(settings.database_url)
    db.outage.quiet = True  # said here, once
    started, pause, told = time.monotonic(), 1.0, False
    try:
        while True:
            try:
                await db.migrate()
                now = SystemClock().now()
                await db.run(partial(deadlines.seed, defaults=defaults, now=now))
                for old in await db.run(partial(deadlines.retire, keys=list(retired), now=now)):
                    log.warning(
                        "Default deadline %r (%02d/%02d, %s) no longer fits the two-tier local "
                        "government: %s. It is cancelled; `cdht deadline list` shows the "
                        "current ones, `cdht deadline add` adds one.",
                        old.key,
                        old.day,
                        old.month,
                        old.audience,
                        retired.get(old.key or "", ""),
                    )
                break
            except DatabaseUnavailable as exc:
                waited = time.monotonic() - started
                why = f"{exc}{_detail(exc)}"
                if waited >= settings.db_wait:
                    await db.dispose()
                    raise DatabaseUnavailable(
                        f"{db.address}: {why}; gave up after {waited:.0f} s (CDHT_DB_WAIT)"
                    ) from exc
                if not told:
                    print(
                        f"The database {db.address} is not available ({why}); waiting up "
                        f"to {settings.db_wait:.0f} s for it (CDHT_DB_WAIT).",
                        file=sys.stderr,
                        flush=True,
                    )
                    told = True
                await asyncio.sleep(min(pause, settings.db_wait - waited))
                pause = min(pause * 2, 15.0)
        if told:
            print("The database is available.", file=sys.stderr, flush=True)
    finally:
        db.outage.quiet = False
    return db
