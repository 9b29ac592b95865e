"""Alembic environment. The bot runs migrations itself (storage.db.Database.migrate) on a
connection it passes in; `alembic -c alembic.ini …` from a shell uses DATABASE_URL."""

import asyncio

from alembic import context

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit(
        "Offline (SQL script) migrations are not supported; run them against a database."
    )

connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from bot.config import Settings
    from storage.db import Database

    async def _main():
        db = Database(Settings.from_env().database_url)
        await db.run(_run)
        await db.dispose()

    asyncio.run(_main())
