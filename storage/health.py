"""A write the database must accept for the bot to be healthy: /healthz asks each process
to record that it checked. A SELECT would pass on a database that cannot commit (a full
disk, a read-only file)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Connection

from storage import outbox
from storage.db import dialect_insert
from storage.models import HealthCheck


def check(conn: Connection, process: str, now: datetime) -> tuple[int, float | None]:
    """Record that `process` checked now (processes gone for a day are let go); then how
    far behind sending is, over all processes (outbox.lag)."""
    conn.execute(delete(HealthCheck).where(HealthCheck.checked_at < now - timedelta(days=1)))
    ins = dialect_insert(conn)
    row = ins(HealthCheck).values(process=process[:64], checked_at=now)
    conn.execute(
        row.on_conflict_do_update(
            index_elements=["process"], set_={"checked_at": row.excluded.checked_at}
        )
    )
    return outbox.lag(conn, now)
