"""Codes that give someone a role: a unit's focal point (any number of units until it
expires) or an admin (single use), and the wrong codes tried (limited, see flows.codes).

Only a code's hash is stored, like a password (scrypt: see `code_hash`): the table does not
give away codes that work. Plain functions of a Connection, run in a transaction by
storage.db.Database.run.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from flows.codes import ATTEMPTS_WINDOW
from flows.model import ADMIN, CodeAttempts, InviteView, Role
from flows.places import Area
from storage.models import ChannelAccount, CodeAttempt, Invite

SALT = b"cdht-bot invite codes"


@functools.lru_cache(maxsize=1024)
def code_hash(code: str) -> str:
    """A code as stored: scrypt, slow and memory-hard on purpose (about 50 ms), so that
    whoever reads the table cannot try the possible codes against it."""
    return hashlib.scrypt(code.encode(), salt=SALT, n=2**14, r=8, p=1, dklen=32).hex()


def hint(code: str) -> str:
    """Enough of a code to tell it from others in a list, and no more: "K7…"."""
    return f"{code[:2]}…"


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
            code_hash=code_hash(code),
            hint=hint(code),
            role=role,
            province_code=area.province,
            commune_code=area.commune,
            created_at=now,
            expires_at=expires_at,
            uses=0,
            created_by=created_by,
        )
    )


def _invite_view(row: Any, code: str | None = None) -> InviteView:
    return InviteView(
        code=code or row.hint,
        role=row.role,
        area=Area(row.province_code, row.commune_code),
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
        uses=row.uses,
        key=row.code_hash,
    )


def find_invite(conn: Connection, code: str) -> InviteView | None:
    """The invite a typed code names, if any (its `code` is the one typed)."""
    row = conn.execute(select(Invite.__table__).where(Invite.code_hash == code_hash(code))).first()
    return None if row is None else _invite_view(row, code)


def created_by(conn: Connection, code: str) -> int | None:
    """The account of the admin who made a code (None: the command line, or no such code)."""
    return conn.execute(
        select(Invite.created_by).where(Invite.code_hash == code_hash(code))
    ).scalar_one_or_none()


def invites(conn: Connection, now: datetime) -> list[InviteView]:
    """Codes still valid, newest first (each shown by its hint)."""
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
            .where(Invite.code_hash == code_hash(code), Invite.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        == 1
    )


def use_admin_invite(conn: Connection, code: str) -> bool:
    """Spend a single-use admin code: False if someone used it first."""
    return (
        conn.execute(
            update(Invite)
            .where(Invite.code_hash == code_hash(code), Invite.role == ADMIN, Invite.uses == 0)
            .values(uses=1)
        ).rowcount
        == 1
    )


def count_use(conn: Connection, code: str) -> None:
    """A focal point registered with this code."""
    count_use_key(conn, code_hash(code))


def count_use_key(conn: Connection, key: str) -> None:
    """A focal point registered with the code stored under `key`."""
    conn.execute(update(Invite).where(Invite.code_hash == key).values(uses=Invite.uses + 1))


# --- wrong codes -----------------------------------------------------------------------


def _who(conn: Connection, account_id: int) -> str:
    """The chat an account is, as wrong attempts remember it (a hash: see CodeAttempt)."""
    channel, external_id = conn.execute(
        select(ChannelAccount.channel, ChannelAccount.external_id).where(
            ChannelAccount.id == account_id
        )
    ).one()
    return hashlib.sha256(f"{channel}:{external_id}".encode()).hexdigest()


def attempts(
    conn: Connection, account_id: int, now: datetime, kind: str = "invite"
) -> CodeAttempts:
    """Wrong codes tried in the last hour: from this chat (of any kind), and by everyone
    (of this kind: "invite" or "family")."""
    since = now - ATTEMPTS_WINDOW
    who = _who(conn, account_id)
    mine, overall = conn.execute(
        select(
            func.count().filter(CodeAttempt.who == who),
            func.count().filter(CodeAttempt.kind == kind),
        ).where(CodeAttempt.at > since)
    ).one()
    return CodeAttempts(int(mine), int(overall))


def wrong_code(conn: Connection, account_id: int, now: datetime, kind: str = "invite") -> None:
    """Count a wrong code (the attempts older than the window are let go meanwhile)."""
    conn.execute(delete(CodeAttempt).where(CodeAttempt.at <= now - ATTEMPTS_WINDOW))
    conn.execute(insert(CodeAttempt).values(who=_who(conn, account_id), at=now, kind=kind))
