"""Opening the bot's database, shared by every `cdht` command: created or migrated, with
the default deadlines it lacks."""

from __future__ import annotations

import asyncio
import sys
from functools import partial
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.data import DEFAULT_DEADLINES, load_deadline_defaults, load_gazetteer
from storage import deadlines
from storage.db import Database, DatabaseUnavailable


async def open_db(settings: Settings) -> Database:
    """The database, migrated, with the default deadlines it lacks (a new one gets all).
    When it cannot be reached or written (a server still starting, a full disk, a
    read-only file), says so in one line and tries again with growing pauses for up to
    CDHT_DB_WAIT seconds; then raises DatabaseUnavailable."""
    path = Path(settings.deadlines) if settings.deadlines else DEFAULT_DEADLINES
    defaults = load_deadline_defaults(load_gazetteer(), path)
    db = Database(settings.database_url)
    db.outage.quiet = True  # said here, once
    waited, pause, told = 0.0, 1.0, False
    try:
        while True:
            try:
                await db.migrate()
                await db.run(partial(deadlines.seed, defaults=defaults, now=SystemClock().now()))
                break
            except DatabaseUnavailable as exc:
                if waited >= settings.db_wait:
                    await db.dispose()
                    raise DatabaseUnavailable(
                        f"{db.address}: {exc}; gave up after {waited:.0f} s (CDHT_DB_WAIT)"
                    ) from exc
                if not told:
                    print(
                        f"The database {db.address} is not available ({exc}); waiting up "
                        f"to {settings.db_wait:.0f} s for it (CDHT_DB_WAIT).",
                        file=sys.stderr,
                        flush=True,
                    )
                    told = True
                await asyncio.sleep(pause)
                waited += pause
                pause = min(pause * 2, 15.0)
        if told:
            print("The database is available.", file=sys.stderr, flush=True)
    finally:
        db.outage.quiet = False
    return db
