"""Queries for the reminder scheduler: whom to nudge now, and claiming a nudge so that it
is sent exactly once (its replies go into the outbox in the same transaction).

Plain functions of a Connection, run in a transaction by storage.db.Database.run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from flows.model import Reply, Snapshot
from storage import repo
from storage.models import ChannelAccount, Conversation


@dataclass(frozen=True)
class Quiet:
    """A conversation left half-way whose next nudge is due."""

    account_id: int
    channel: str
    external_id: str
    quiet_since: datetime  # the person's last message
    next_round: int  # the first nudge of the schedule not sent yet


def due(conn: Connection, channels: Sequence[str], now: datetime, limit: int) -> list[Quiet]:
    """Conversations whose nudge time has come, on these channels, earliest first."""
    rows = conn.execute(
        select(
            Conversation.account_id,
            ChannelAccount.channel,
            ChannelAccount.external_id,
            Conversation.updated_at,
            Conversation.nudge_round,
        )
        .join(ChannelAccount, ChannelAccount.id == Conversation.account_id)
        .where(
            Conversation.nudge_at <= now,
            ChannelAccount.channel.in_(list(channels)),
            ChannelAccount.unreachable.is_(False),
        )
        .order_by(Conversation.nudge_at)
        .limit(limit)
    ).all()
    return [Quiet(*row) for row in rows]


def reschedule(conn: Connection, quiet: Quiet, nudge_at: datetime | None) -> None:
    """Move the next nudge (None: no more), unless the person wrote meanwhile."""
    conn.execute(
        update(Conversation)
        .where(
            Conversation.account_id == quiet.account_id,
            Conversation.updated_at == quiet.quiet_since,
        )
        .values(nudge_at=nudge_at)
    )


@dataclass(frozen=True)
class Claimed:
    outbox_id: int
    reply: Reply
    lang: str | None


def claim(
    conn: Connection,
    quiet: Quiet,
    round_: int,
    next_at: datetime | None,
    year: int,
    now: datetime,
    build: Callable[[Snapshot], Reply | None],
) -> Claimed | None:
    """Take nudge `round_` of this quiet period for sending: recorded (the next one is
    scheduled for `next_at`) and its reply put in the outbox, in this transaction. None if
    another scheduler took it, the person wrote meanwhile, or there is nothing to say."""
    taken = conn.execute(
        update(Conversation)
        .where(
            Conversation.account_id == quiet.account_id,
            Conversation.updated_at == quiet.quiet_since,
            Conversation.nudge_round == quiet.next_round,
            Conversation.nudge_at.is_not(None),
        )
        .values(nudge_round=round_ + 1, nudge_at=next_at)
    ).rowcount
    if taken != 1:
        return None
    loaded = repo.load_conversation(conn, quiet.channel, quiet.external_id, year, now)
    reply = build(loaded.snapshot)
    if reply is None:  # e.g. reminders turned off: nothing more to send
        conn.execute(
            update(Conversation)
            .where(Conversation.account_id == quiet.account_id)
            .values(nudge_at=None)
        )
        return None
    stamp = quiet.quiet_since.isoformat(timespec="seconds")
    outbox_id = conn.execute(
        repo.new_outbox(conn),
        {
            "account_id": quiet.account_id,
            "channel": quiet.channel,
            "event_id": f"nudge:{quiet.account_id}:{stamp}:{round_}",
            "replies": [reply.to_dict()],
            "created_at": now,
        },
    ).scalar_one_or_none()
    if outbox_id is None:  # recorded already (cannot happen after the claim, but never twice)
        return None
    return Claimed(outbox_id, reply, loaded.snapshot.state.get("lang"))
