"""Opening the bot's database, shared by every `cdht` command: created or migrated, with
the default deadlines it lacks."""

from __future__ import annotations

from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.data import DEFAULT_DEADLINES, load_deadline_defaults, load_gazetteer
from storage import deadlines
from storage.db import Database


async def open_db(settings: Settings) -> Database:
    """The database, migrated, with the default deadlines it lacks (a new one gets all)."""
    path = Path(settings.deadlines) if settings.deadlines else DEFAULT_DEADLINES
    defaults = load_deadline_defaults(load_gazetteer(), path)
    db = Database(settings.database_url)
    await db.migrate()
    now = SystemClock().now()
    await db.run(lambda conn: deadlines.seed(conn, defaults, now))
    return db
