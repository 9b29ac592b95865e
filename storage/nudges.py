"""Nudges for people who stopped half-way: claim the ones that are due, many at a time, so
that each is sent exactly once (its reply goes into the outbox in the same transaction).

Plain functions of a Connection, run in a transaction by storage.db.Database.run. What a
nudge says is written by the pure core (`flows.reminders.nudge_for`), in the same call:
claim, write, record.

A batch is three statements whatever its size: one joined read of the due conversations
(locked: on PostgreSQL FOR UPDATE SKIP LOCKED, so two schedulers take different people; on
SQLite the transaction holds the write lock), one executemany that moves each to its next
nudge, and one multi-row insert into the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.engine import Connection

from flows.model import Reply, World
from flows.reminders import NudgeSchedule, nudge_for, reminders_on, stopped_in
from storage import outbox
from storage.db import PerDialect, run_batch
from storage.models import Answer, Assessment, ChannelAccount, Conversation
from storage.outbox import Claimed, OutboxEntry


class _Statements:
    def __init__(self, dialect: str) -> None:
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
        self.move: Any = (
            update(Conversation)
            .where(Conversation.account_id == bindparam("b_account"))
            .values(nudge_round=bindparam("b_round"), nudge_at=bindparam("b_at"))
        )
        # PostgreSQL: a batch as one JSON parameter. Binding 5,000 parameters (or running
        # 1,000 updates) costs several times what the server needs for the rows.
        if dialect == "postgresql":
            self.move = text(
                "UPDATE conversations AS c SET nudge_round = m.b_round, nudge_at = m.b_at "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
                "AS m(b_account integer, b_round integer, b_at timestamptz) "
                "WHERE c.account_id = m.b_account"
            )


_sql = PerDialect(_Statements)


def claim_nudges(
    conn: Connection,
    channel: str,
    schedule: NudgeSchedule,
    now: datetime,
    year: int,
    limit: int,
    world: World,
) -> tuple[list[Claimed], int]:
    """Take up to `limit` nudges due on this channel for sending: each conversation moves
    on to its next nudge (or none), and each reply is put in the outbox, in this
    transaction. Conversations whose nudge is not due after all (the schedule changed) are
    moved to when it is; those with nothing to say (reminders turned off, finished) leave
    the schedule. Returns the claimed
    nudges and how many conversations were looked at (`limit`: there may be more)."""
    sql = _sql(conn)
    if schedule.in_quiet_hours(now):
        return [], 0
    rows = conn.execute(
        sql.due, {"now": now, "channel": channel, "year": year, "limit": limit}
    ).all()
    moves: list[dict[str, Any]] = []
    entries: list[OutboxEntry] = []
    written: dict[tuple[Any, ...], tuple[Reply, ...]] = {}  # the same words for many people
    for row in rows:
        round_ = schedule.due(row.updated_at, now, row.nudge_round)
        if round_ is None:  # not due after all (the schedule changed), or all sent
            after = schedule.due_at(row.updated_at, row.nudge_round)
            moves.append({"b_account": row.account_id, "b_round": row.nudge_round, "b_at": after})
            continue
        state = row.state or {}
        registered, answered = row.person_id is not None, row.answered or 0
        what = stopped_in(state, registered, row.status)
        key = (state.get("lang"), what, answered, reminders_on(state))
        if key not in written:
            reply = nudge_for(state, registered, row.status, answered, world)
            written[key] = (reply,) if reply is not None else ()
        replies = written[key]
        if not replies:
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
        entries.append(
            OutboxEntry(row.account_id, row.external_id, event_id, replies, state.get("lang"))
        )
    if moves:
        run_batch(conn, sql.move, moves)
    return outbox.record(conn, channel, now, entries), len(rows)
