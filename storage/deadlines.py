"""Deadlines (hạn báo cáo), and claiming a deadline reminder for a batch of its audience.

Plain functions of a Connection, run in a transaction by storage.db.Database.run.

A reminder goes through its audience on each channel in key order (people by id for
citizens, recipients by id for focal points and admins) from a cursor stored in the
database, a batch per transaction: the cursor row is locked (PostgreSQL; SQLite holds the
write lock for the whole transaction), the next batch read, its messages put in the
outbox with an event id naming deadline, due date, offset and account (so none is ever
recorded twice), and the cursor moved on. People who register later have larger keys
and are reached by the same reminder while it is current. What the reminder says is
written by the pure core (`flows.deadlines.reminder_reply`) in the same call.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, bindparam, exists, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from flows.deadlines import Deadline, Reminder, reminder_reply
from flows.model import ADMIN, FOCAL_POINT, Reply, World
from flows.places import Area
from storage import outbox
from storage.db import PerDialect, dialect_insert
from storage.models import (
    Assessment,
    ChannelAccount,
    Conversation,
    DeadlineCursor,
    Person,
    Recipient,
)
from storage.models import Deadline as DeadlineRow
from storage.outbox import Claimed, OutboxEntry

# --- deadlines -------------------------------------------------------------------------


def _to_row(deadline: Deadline, now: datetime) -> dict[str, Any]:
    return {
        "key": deadline.key,
        "title": dict(deadline.title),
        "day": deadline.day,
        "month": deadline.month,
        "year": deadline.year,
        "province_code": deadline.area.province,
        "commune_code": deadline.area.commune,
        "audience": deadline.audience,
        "offsets": list(deadline.offsets),
        "at": deadline.at.strftime("%H:%M"),
        "created_at": now,
    }


def _from_row(row: Any) -> Deadline:
    hours, minutes = (int(part) for part in row.at.split(":"))
    return Deadline(
        title=row.title,
        day=row.day,
        month=row.month,
        year=row.year,
        area=Area(row.province_code, row.commune_code),
        audience=row.audience,
        offsets=tuple(row.offsets),
        at=time(hours, minutes),
        key=row.key,
        id=row.id,
    )


def seed(conn: Connection, defaults: list[Deadline], now: datetime) -> int:
    """Add the default deadlines the database lacks (by key); returns how many. One that
    was cancelled stays cancelled."""
    if not defaults:
        return 0
    added = conn.execute(
        dialect_insert(conn)(DeadlineRow)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(DeadlineRow.id),
        [_to_row(d, now) for d in defaults],
    ).all()
    return len(added)


def retire(conn: Connection, keys: list[str], now: datetime) -> list[Deadline]:
    """Cancel the defaults of earlier versions (by key) that are still active; returns
    those cancelled now (none the next time)."""
    if not keys:
        return []
    rows = conn.execute(
        update(DeadlineRow)
        .where(DeadlineRow.key.in_(keys), DeadlineRow.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .returning(*DeadlineRow.__table__.c)
    ).all()
    return [_from_row(row) for row in rows]


def add(conn: Connection, deadline: Deadline, now: datetime) -> int:
    row = _to_row(deadline, now)
    row["key"] = None
    new_id: int = conn.execute(
        dialect_insert(conn)(DeadlineRow).values(**row).returning(DeadlineRow.id)
    ).scalar_one()
    return new_id


def active(conn: Connection) -> list[Deadline]:
    rows = conn.execute(
        select(DeadlineRow.__table__)
        .where(DeadlineRow.cancelled_at.is_(None))
        .order_by(DeadlineRow.id)
    )
    return [_from_row(row) for row in rows]


def cancel(conn: Connection, deadline_id: int, now: datetime) -> Deadline | None:
    """Stop a deadline's reminders; None if there is no such deadline still active."""
    row = conn.execute(
        update(DeadlineRow)
        .where(DeadlineRow.id == deadline_id, DeadlineRow.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .returning(*DeadlineRow.__table__.c)
    ).first()
    return None if row is None else _from_row(row)


# --- claiming a reminder for a batch of the audience -------------------------------------


def _audience_query(audience: str, kind: str) -> Any:
    key: Any
    area: tuple[Any, Any]
    query: Any
    if audience == "citizens":
        key = Person.id
        area = (Person.province_code, Person.commune_code)
        query = (
            select(
                Person.id.label("k"),
                ChannelAccount.id.label("account_id"),
                ChannelAccount.external_id,
                Person.language,
                null().label("unit"),
            )
            .select_from(Person)
            .join(ChannelAccount, ChannelAccount.person_id == Person.id)
            .where(
                # Repeats the cursor's bound on each joined table's person_id: PostgreSQL
                # does not carry it across a merge join, and would scan them from the start.
                ChannelAccount.person_id >= bindparam("last_key"),
                ~exists().where(
                    Assessment.person_id == Person.id,
                    Assessment.person_id >= bindparam("last_key"),
                    Assessment.campaign_year == bindparam("year"),
                    Assessment.status == "submitted",
                ),
            )
        )
    else:
        key = Recipient.id
        area = (Recipient.province_code, Recipient.commune_code)
        query = (
            select(
                Recipient.id.label("k"),
                ChannelAccount.id.label("account_id"),
                ChannelAccount.external_id,
                Recipient.language,
                Recipient.unit_name.label("unit"),
            )
            .select_from(Recipient)
            .join(ChannelAccount, ChannelAccount.id == Recipient.account_id)
            .where(Recipient.role == bindparam("role"))
        )
    if kind == "province":
        here = area[0] == bindparam("province")
        if audience == "admins":  # and the national admins who follow the provinces'
            here = or_(here, and_(Recipient.follows_inside, area[0].is_(None)))
        query = query.where(here)
    elif kind == "commune":
        here = area[1] == bindparam("commune")
        if audience == "admins":  # and the admins above it who follow what is inside
            above = or_(area[0].is_(None), area[0] == bindparam("province"))
            here = or_(here, and_(Recipient.follows_inside, area[1].is_(None), above))
        query = query.where(here)
    return (
        query.join(Conversation, Conversation.account_id == ChannelAccount.id)
        .where(
            ChannelAccount.channel == bindparam("channel"),
            ChannelAccount.unreachable.is_(False),
            Conversation.reminders_off.is_(False),
            # After the cursor, written so that the key's index bounds the scan (the
            # account breaks ties: a person may chat on several channels).
            key >= bindparam("last_key"),
            or_(key > bindparam("last_key"), ChannelAccount.id > bindparam("last_account")),
        )
        .order_by(key, ChannelAccount.id)
        .limit(bindparam("limit"))
    )


class _Statements:
    def __init__(self, dialect: str) -> None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.audience = {
            (audience, kind): _audience_query(audience, kind)
            for audience in ("citizens", "focal_points", "admins")
            for kind in ("all", "province", "commune")
        }
        this = (
            DeadlineCursor.deadline_id == bindparam("b_deadline"),
            DeadlineCursor.due == bindparam("b_due"),
            DeadlineCursor.days_before == bindparam("b_days"),
            DeadlineCursor.channel == bindparam("b_channel"),
        )
        self.new_cursor = ins(DeadlineCursor).on_conflict_do_nothing()
        cursor = select(DeadlineCursor.last_key, DeadlineCursor.last_account).where(*this)
        self.cursor = cursor.with_for_update() if dialect == "postgresql" else cursor
        self.move = (
            update(DeadlineCursor)
            .where(*this)
            .values(last_key=bindparam("new_key"), last_account=bindparam("new_account"))
        )


_sql = PerDialect(_Statements)
ROLES = {"focal_points": FOCAL_POINT, "admins": ADMIN}


def claim_reminders(
    conn: Connection,
    deadline: Deadline,
    reminder: Reminder,
    channel: str,
    year: int,
    now: datetime,
    limit: int,
    world: World,
) -> tuple[list[Claimed], int]:
    """Take this reminder for the next `limit` people of the deadline's audience on this
    channel: recorded in the outbox, the cursor moved past them. Citizens are those in
    the area without a submitted self-scoring for `year`. Returns what was claimed and
    how many were read (`limit`: there may be more)."""
    sql = _sql(conn)
    key = {
        "deadline_id": deadline.id,
        "due": reminder.due.isoformat(),
        "days_before": reminder.days_before,
        "channel": channel,
    }
    this = {
        f"b_{name}": value
        for name, value in zip(("deadline", "due", "days", "channel"), key.values(), strict=True)
    }
    conn.execute(sql.new_cursor, {**key, "last_key": 0, "last_account": 0})
    last_key, last_account = conn.execute(sql.cursor, this).one()
    rows = conn.execute(
        sql.audience[(deadline.audience, deadline.area.kind)],
        {
            "channel": channel,
            "year": year,
            "role": ROLES.get(deadline.audience),
            "province": deadline.area.province,
            "commune": deadline.area.commune,
            "last_key": last_key,
            "last_account": last_account,
            "limit": limit,
        },
    ).all()
    if not rows:
        return [], 0
    stamp = f"deadline:{deadline.id}:{key['due']}:{reminder.days_before}"
    written: dict[tuple[str, str | None], tuple[Reply, ...]] = {}  # per language and unit
    entries = []
    for row in rows:
        words = (row.language, row.unit)
        if words not in written:
            t = world.langs.get(row.language) or world.langs[world.default_lang]
            area = None
            if deadline.audience == "admins" and deadline.area.kind != "all":
                area = deadline.area.name(world.places, t)
            written[words] = (
                reminder_reply(deadline, reminder, t, world.default_lang, year, row.unit, area),
            )
        entries.append(
            OutboxEntry(
                row.account_id,
                row.external_id,
                f"{stamp}:{row.account_id}",
                written[words],
                row.language,
            )
        )
    claimed = outbox.record(conn, channel, now, entries)
    conn.execute(sql.move, {**this, "new_key": rows[-1].k, "new_account": rows[-1].account_id})
    return claimed, len(rows)
