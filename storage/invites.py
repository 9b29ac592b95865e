"""Codes that give someone a role: a unit's focal point (any number of units until it
expires) or an admin (single use). Plain functions of a Connection, run in a transaction by
storage.db.Database.run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from flows.model import ADMIN, InviteView, Role
from flows.places import Area
from storage.models import Invite


def new_invite(
    conn: Connection,
    code: str,
    role: Role,
    area: Area,
    now: datetime,
    expires_at: datetime,
    created_by: int | None = None,
) -> None:
    conn.execute(
        insert(Invite).values(
            code=code,
            role=role,
            province_code=area.province,
            commune_code=area.commune,
            created_at=now,
            expires_at=expires_at,
            uses=0,
            created_by=created_by,
        )
    )


def _invite_view(row: Any) -> InviteView:
    return InviteView(
        code=row.code,
        role=row.role,
        area=Area(row.province_code, row.commune_code),
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
        uses=row.uses,
    )


def find_invite(conn: Connection, code: str) -> InviteView | None:
    row = conn.execute(select(Invite.__table__).where(Invite.code == code)).first()
    return None if row is None else _invite_view(row)


def invites(conn: Connection, now: datetime) -> list[InviteView]:
    """Codes still valid, newest first."""
    rows = conn.execute(
        select(Invite.__table__)
        .where(Invite.revoked_at.is_(None), Invite.expires_at > now)
        .order_by(Invite.created_at.desc())
    )
    return [_invite_view(row) for row in rows]


def revoke_invite(conn: Connection, code: str, now: datetime) -> bool:
    return (
        conn.execute(
            update(Invite)
            .where(Invite.code == code, Invite.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        == 1
    )


def use_admin_invite(conn: Connection, code: str) -> bool:
    """Spend a single-use admin code: False if someone used it first."""
    return (
        conn.execute(
            update(Invite)
            .where(Invite.code == code, Invite.role == ADMIN, Invite.uses == 0)
            .values(uses=1)
        ).rowcount
        == 1
    )


def count_use(conn: Connection, code: str) -> None:
    """A focal point registered with this code."""
    conn.execute(update(Invite).where(Invite.code == code).values(uses=Invite.uses + 1))
