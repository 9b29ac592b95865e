"""Queries for the reminder scheduler: claim the nudges that are due, many at a time, so
that each is sent exactly once (its reply goes into the outbox in the same transaction).

Plain functions of a Connection, run in a transaction by storage.db.Database.run.

A batch is three statements whatever its size: one joined read of the due conversations
(locked: on PostgreSQL FOR UPDATE SKIP LOCKED, so two schedulers take different people; on
SQLite the transaction holds the write lock), one executemany that moves each to its next
nudge, and one multi-row insert into the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from flows.model import Reply
from flows.reminders import NudgeSchedule
from storage.db import PerDialect
from storage.models import Answer, Assessment, ChannelAccount, Conversation, ProcessedEvent


@dataclass(frozen=True)
class Stopped:
    """What a nudge says depends on: the conversation state, whether the person is
    registered, this year's assessment status and how many questions they answered."""

    state: Mapping[str, Any]
    registered: bool
    status: str | None
    answered: int


@dataclass(frozen=True)
class Claimed:
    """A reminder recorded in the outbox, to hand to the channel."""

    account_id: int
    external_id: str
    outbox_id: int
    reply: Reply | tuple[Reply, ...]
    lang: str | None

    @property
    def replies(self) -> tuple[Reply, ...]:
        return self.reply if isinstance(self.reply, tuple) else (self.reply,)


class _Statements:
    def __init__(self, dialect: str) -> None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        answered = (
            select(func.count())
            .where(Answer.assessment_id == Assessment.id)
            .correlate(Assessment)
            .scalar_subquery()
        )
        due = (
            select(
                Conversation.account_id,
                ChannelAccount.external_id,
                Conversation.state,
                Conversation.updated_at,
                Conversation.nudge_round,
                ChannelAccount.person_id,
                Assessment.status,
                answered.label("answered"),
            )
            .join(ChannelAccount, ChannelAccount.id == Conversation.account_id)
            .outerjoin(
                Assessment,
                and_(
                    Assessment.person_id == ChannelAccount.person_id,
                    Assessment.campaign_year == bindparam("year"),
                ),
            )
            .where(
                Conversation.nudge_at <= bindparam("now"),
                ChannelAccount.channel == bindparam("channel"),
                ChannelAccount.unreachable.is_(False),
            )
            .order_by(Conversation.nudge_at)
            .limit(bindparam("limit"))
        )
        if dialect == "postgresql":
            due = due.with_for_update(of=Conversation, skip_locked=True)
        self.due = due
        self.move = (
            update(Conversation)
            .where(Conversation.account_id == bindparam("b_account"))
            .values(nudge_round=bindparam("b_round"), nudge_at=bindparam("b_at"))
        )
        self.outbox = (
            ins(ProcessedEvent)
            .on_conflict_do_nothing(index_elements=["channel", "event_id"])
            .returning(ProcessedEvent.id, ProcessedEvent.account_id)
        )
        # PostgreSQL: a batch as one JSON parameter. Binding 5,000 parameters (or running
        # 1,000 updates) costs several times what the server needs for the rows.
        self.json = dialect == "postgresql"
        if self.json:
            self.move = text(
                "UPDATE conversations AS c SET nudge_round = m.b_round, nudge_at = m.b_at "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
                "AS m(b_account integer, b_round integer, b_at timestamptz) "
                "WHERE c.account_id = m.b_account"
            )
            self.outbox = text(
                "INSERT INTO processed_events (account_id, channel, event_id, replies, "
                "created_at) SELECT r.account_id, r.channel, r.event_id, r.replies, "
                "r.created_at FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(account_id "
                "integer, channel varchar, event_id varchar, replies jsonb, created_at "
                "timestamptz) ON CONFLICT (channel, event_id) DO NOTHING RETURNING id, account_id"
            )


def _many(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> Any:
    """Run a batch statement: as executemany, or with the rows as one JSON parameter."""
    if not _sql(conn).json:
        return conn.execute(statement, rows)
    return conn.execute(statement, {"rows": json.dumps(rows, default=_iso)})


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


_sql = PerDialect(_Statements)


def claim_nudges(
    conn: Connection,
    channel: str,
    schedule: NudgeSchedule,
    now: datetime,
    year: int,
    limit: int,
    build: Callable[[Stopped], Reply | None],
) -> tuple[list[Claimed], int]:
    """Take up to `limit` nudges due on this channel for sending: each conversation moves
    on to its next nudge (or none), and each reply is put in the outbox, in this
    transaction. Conversations whose nudge is not due after all (the schedule changed) are
    moved to when it is; those with nothing to say (reminders turned off, finished) leave
    the schedule. `build` writes the reminder (None: nothing to say). Returns the claimed
    nudges and how many conversations were looked at (`limit`: there may be more)."""
    sql = _sql(conn)
    if schedule.in_quiet_hours(now):
        return [], 0
    rows = conn.execute(
        sql.due, {"now": now, "channel": channel, "year": year, "limit": limit}
    ).all()
    moves: list[dict[str, Any]] = []
    reminders: list[tuple[int, str, str, Reply, str | None]] = []
    for row in rows:
        round_ = schedule.due(row.updated_at, now, row.nudge_round)
        if round_ is None:  # not due after all (the schedule changed), or all sent
            after = schedule.due_at(row.updated_at, row.nudge_round)
            moves.append({"b_account": row.account_id, "b_round": row.nudge_round, "b_at": after})
            continue
        state = row.state or {}
        reply = build(Stopped(state, row.person_id is not None, row.status, row.answered or 0))
        if reply is None:
            moves.append({"b_account": row.account_id, "b_round": row.nudge_round, "b_at": None})
            continue
        moves.append(
            {
                "b_account": row.account_id,
                "b_round": round_ + 1,
                "b_at": schedule.due_at(row.updated_at, round_ + 1),
            }
        )
        stamp = row.updated_at.isoformat(timespec="seconds")
        event_id = f"nudge:{row.account_id}:{stamp}:{round_}"
        reminders.append((row.account_id, row.external_id, event_id, reply, state.get("lang")))
    if moves:
        _many(conn, sql.move, moves)
    return record_reminders(conn, channel, now, reminders), len(rows)


def record_reminders(
    conn: Connection,
    channel: str,
    now: datetime,
    reminders: list[tuple[int, str, str, Reply | tuple[Reply, ...], str | None]],
) -> list[Claimed]:
    """Put reminders in the outbox: (account id, external id, event id, reply or replies,
    language) each. The event id makes each reminder once: one recorded before is not
    claimed."""
    if not reminders:
        return []
    payloads: dict[int, list[dict[str, Any]]] = {}  # many people get the very same reply
    outbox = []
    for account_id, _, event_id, reply, _ in reminders:
        if id(reply) not in payloads:
            replies = reply if isinstance(reply, tuple) else (reply,)
            payloads[id(reply)] = [r.to_dict() for r in replies]
        outbox.append(
            {
                "account_id": account_id,
                "channel": channel,
                "event_id": event_id,
                "replies": payloads[id(reply)],
                "created_at": now,
            }
        )
    pending = {account_id: (ext, reply, lang) for account_id, ext, _, reply, lang in reminders}
    claimed = []
    for outbox_id, account_id in _many(conn, _sql(conn).outbox, outbox).all():
        external_id, reply, lang = pending[account_id]
        claimed.append(Claimed(account_id, external_id, outbox_id, reply, lang))
    return claimed
