"""The schema the migrations build is the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.models import Base


async def test_migrations_match_the_models(db):
    def differences(conn):
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)

    assert await db.run(differences) == []


async def test_migrating_twice_changes_nothing(db):
    await db.migrate()
    await db.migrate()
