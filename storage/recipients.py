"""Recipients: accounts that hold a role in an area (a unit's focal point, an admin) and
get the deadline reminders addressed to it. Plain functions of a Connection, run in a
transaction by storage.db.Database.run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection

from flows.model import Role
from flows.places import Area
from storage import invites
from storage.db import dialect_insert
from storage.models import Recipient


def save_recipient(
    conn: Connection,
    account_id: int,
    role: Role,
    area: Area,
    unit: str | None,
    language: str,
    code: str | None,
    now: datetime,
    invite_key: str | None = None,
) -> None:
    """Register (or re-register) an account as a recipient in a role."""
    stmt = dialect_insert(conn)(Recipient).values(
        account_id=account_id,
        role=role,
        province_code=area.province,
        commune_code=area.commune,
        unit_name=unit,
        language=language,
        created_at=now,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id", "role"],
            set_={
                "province_code": stmt.excluded.province_code,
                "commune_code": stmt.excluded.commune_code,
                "unit_name": stmt.excluded.unit_name,
                "language": stmt.excluded.language,
            },
        )
    )
    if code is not None:
        invites.count_use(conn, code)
    if invite_key is not None:
        invites.count_use_key(conn, invite_key)


def remove_recipient(conn: Connection, account_id: int, role: Role | None = None) -> None:
    """No more deadline reminders in this role (None: in any role)."""
    query = delete(Recipient).where(Recipient.account_id == account_id)
    if role is not None:
        query = query.where(Recipient.role == role)
    conn.execute(query)


def set_language(conn: Connection, account_id: int, language: str) -> None:
    conn.execute(
        update(Recipient).where(Recipient.account_id == account_id).values(language=language)
    )
