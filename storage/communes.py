"""Communes' own settings: whether a commune is a remote, especially difficult or
ethnic-minority area (the title needs a lower total there). Plain functions of a
Connection, run in a transaction by storage.db.Database.run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from storage.db import dialect_insert
from storage.models import CommuneFlag


def set_commune_difficult(
    conn: Connection, commune_code: int, difficult: bool, now: datetime
) -> None:
    ins = dialect_insert(conn)
    flag = ins(CommuneFlag).values(commune_code=commune_code, difficult=difficult, updated_at=now)
    conn.execute(
        flag.on_conflict_do_update(
            index_elements=["commune_code"],
            set_={"difficult": flag.excluded.difficult, "updated_at": flag.excluded.updated_at},
        )
    )
