"""Storage: the schema the migrations build is the one the models describe, on both
databases; and the database threads take urgent work first."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import Workers
from storage.models import Base


async def test_migrations_match_the_models(db):
    def differences(conn):
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)

    assert await db.run(differences) == []


async def test_migrating_twice_changes_nothing(db):
    await db.migrate()
    await db.migrate()


def test_urgent_work_goes_before_work_already_queued():
    """A reply marked sent must not wait behind a queue of steps: a crash meanwhile
    would send it again."""
    workers = Workers(1, "test-db")
    started, release, order = threading.Event(), threading.Event(), []

    def busy():
        started.set()
        release.wait(5)

    workers.submit(busy)
    started.wait(5)
    queued = [workers.submit(order.append, f"step {n}") for n in range(3)]
    urgent = workers.submit_urgent(order.append, "mark sent")
    release.set()
    for future in [*queued, urgent]:
        future.result(5)
    workers.shutdown()
    assert order == ["mark sent", "step 0", "step 1", "step 2"]


def test_work_refused_after_shutdown_never_runs():
    workers = Workers(1, "test-db")
    started, release, done = threading.Event(), threading.Event(), []
    workers.submit(lambda: (started.set(), release.wait(5)))
    started.wait(5)
    later = workers.submit(done.append, "queued before shutdown")
    workers.shutdown(wait=False)
    with pytest.raises(RuntimeError):
        workers.submit_urgent(done.append, "refused")
    with pytest.raises(RuntimeError):
        workers.submit(done.append, "refused too")
    release.set()
    later.result(5)
    workers.shutdown()
    assert done == ["queued before shutdown"]
