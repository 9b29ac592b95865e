"""The outbox (table processed_events): every reply the bot owes someone, as one row per
event: an answer to what a person sent, a reminder, a digest, a decision to tell. Its event
id is unique per channel, so a row is written once whichever process tries (that is what
makes each reminder go out once); a row is marked delivered once its channel sent it, and
one not delivered is sent again when the channel starts.

Several processes, one order per chat. Any process may take any update of a chat, so the
rows of one account may be written by different processes; they are written one at a
time (the dispatcher holds the account's row lock on PostgreSQL), so their ids follow the
order of the updates. A process sends a chat's replies only while it holds the chat's
turn (table send_turns: one row per chat being sent to, with the holder and a lease it
renews every few seconds). Holding it, it sends every reply of the chat not sent yet, up
to its own, oldest first, and writes them down as sent before it gives the turn back; a
reply another process sent meanwhile is not sent again. A process that dies keeps its
turns only until their lease runs out: then the next process with a reply for that chat,
or the look for unsent replies every process makes now and then, takes the turn and sends
what the dead one left, in order. No broker: the database is the one shared thing.

What this cannot do is know whether a reply handed to the chat service just before a
process died arrived: it is sent again (once) by whoever takes the turn.

Plain functions of a Connection, run in a transaction by storage.db.Database.run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from flows.model import Reply
from storage.db import PerDialect, dialect_insert, run_batch
from storage.models import ChannelAccount, ForgottenEvent, Person, ProcessedEvent, SendTurn


@dataclass(frozen=True)
class OutboxEntry:
    """Replies owed to one account, under an event id that makes them once."""

    account_id: int
    external_id: str
    event_id: str  # e.g. "nudge:12:2026-11-23T03:00:00:0", unique per channel
    replies: tuple[Reply, ...]
    lang: str | None  # the language to show the channel's own words in


@dataclass(frozen=True)
class Claimed:
    """Replies recorded in the outbox, to hand to the channel."""

    account_id: int
    external_id: str
    outbox_id: int
    replies: tuple[Reply, ...]
    lang: str | None


class _Statements:
    def __init__(self, dialect: str) -> None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.record: Any = (
            ins(ProcessedEvent)
            .on_conflict_do_nothing(index_elements=["channel", "event_id"])
            .returning(ProcessedEvent.id, ProcessedEvent.account_id)
        )
        if dialect == "postgresql":  # a batch as one JSON parameter (see run_batch)
            self.record = text(
                "INSERT INTO processed_events (account_id, channel, event_id, replies, "
                "created_at) SELECT r.account_id, r.channel, r.event_id, r.replies, "
                "r.created_at FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(account_id "
                "integer, channel varchar, event_id varchar, replies jsonb, created_at "
                "timestamptz) ON CONFLICT (channel, event_id) DO NOTHING RETURNING id, account_id"
            )


_sql = PerDialect(_Statements)


def record_decisions(
    conn: Connection,
    now: datetime,
    rows: Iterable[Any],
    reply_of: Callable[[Any, bool, datetime], Reply],
    prefix: str,
) -> list[tuple[str, Claimed]]:
    """Decisions (a title recognised or a self-assessment returned) in the outbox, one per
    reachable chat account of a row (id, recognised_at, returned_at, language, account_id,
    external_id, channel, unreachable), in the words `reply_of(row, recognised, at)` gives;
    the event id `prefix:<id>:<kind>:<at>:<account>` keeps each once."""
    by_channel: dict[str, list[OutboxEntry]] = {}
    for row in rows:
        if row.channel is None or row.unreachable:
            continue
        recognised = row.recognised_at is not None
        at = row.recognised_at if recognised else row.returned_at
        if at is None:  # (nothing to tell: returned, then submitted anew before told)
            continue
        kind = "recognised" if recognised else "returned"
        event_id = f"{prefix}:{row.id}:{kind}:{at.isoformat()}:{row.account_id}"
        by_channel.setdefault(row.channel, []).append(
            OutboxEntry(
                row.account_id,
                row.external_id,
                event_id,
                (reply_of(row, recognised, at),),
                row.language,
            )
        )
    return [
        (channel, c)
        for channel, entries in by_channel.items()
        for c in record(conn, channel, now, entries)
    ]


def record(
    conn: Connection, channel: str, now: datetime, entries: Sequence[OutboxEntry]
) -> list[Claimed]:
    """Put entries in the outbox in one statement. An entry whose event id was recorded
    before is left out of what is returned: it was (or is being) sent already."""
    if not entries:
        return []
    payloads: dict[int, list[dict[str, Any]]] = {}  # many people get the very same replies
    rows = []
    for entry in entries:
        key = id(entry.replies)
        if key not in payloads:
            payloads[key] = [r.to_dict() for r in entry.replies]
        rows.append(
            {
                "account_id": entry.account_id,
                "channel": channel,
                "event_id": entry.event_id,
                "replies": payloads[key],
                "created_at": now,
            }
        )
    pending = {entry.account_id: entry for entry in entries}
    claimed = []
    for outbox_id, account_id in run_batch(conn, _sql(conn).record, rows).all():
        entry = pending[account_id]
        claimed.append(Claimed(account_id, entry.external_id, outbox_id, entry.replies, entry.lang))
    return claimed


@dataclass(frozen=True)
class StoredReplies:
    outbox_id: int
    replies: list[Reply]
    delivered: bool
    lang: str | None = None  # the person's language, when known


def stored_replies(conn: Connection, channel: str, event_id: str) -> StoredReplies | None:
    """The replies saved for an event processed before, and whether they were delivered."""
    row = (
        conn.execute(
            select(ProcessedEvent.id, ProcessedEvent.replies, ProcessedEvent.delivered_at).where(
                ProcessedEvent.channel == channel, ProcessedEvent.event_id == event_id
            )
        )
    ).first()
    if row is None:
        return None
    return StoredReplies(
        row.id, [Reply.from_dict(r) for r in row.replies], row.delivered_at is not None
    )


# --- turns to send (several processes) --------------------------------------------------

TURN_LEASE = timedelta(seconds=10)  # a turn not renewed for this long is free again


def take_turn(
    conn: Connection, channel: str, external_id: str, holder: str, now: datetime
) -> tuple[int | None, dict[str, Any]] | None:
    """Take the turn to send to this chat, if it is free, ours already, or its holder
    stopped renewing it (a process that died): the account id and what the chat shows
    (`view`, as the last sender left it). None if another process holds it; no account
    id if the account is gone (deleted with its replies: nothing to send)."""
    account_id = conn.execute(
        select(ChannelAccount.id).where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
    ).scalar_one_or_none()
    if account_id is None:
        return None, {}
    ins = dialect_insert(conn)
    clock = _clock(conn, now)
    statement = ins(SendTurn).values(
        account_id=account_id, holder=holder, until=clock + TURN_LEASE, view={}
    )
    taken = conn.execute(
        statement.on_conflict_do_update(
            index_elements=[SendTurn.account_id],
            set_={"holder": holder, "until": clock + TURN_LEASE},
            where=or_(SendTurn.holder.is_(None), SendTurn.holder == holder, SendTurn.until < clock),
        ).returning(SendTurn.view)
    ).first()
    return None if taken is None else (account_id, dict(taken.view or {}))


def _clock(conn: Connection, now: datetime) -> Any:
    """The time leases are taken and compared by: the database server's on PostgreSQL
    (processes on several machines need not agree on the time), this one's on SQLite (one
    machine)."""
    return func.now() if conn.dialect.name == "postgresql" else now


def chat_unsent(
    conn: Connection, account_id: int, now: datetime, up_to: int | None = None
) -> list[StoredReplies]:
    """The replies to an account not sent yet (from the last UNSENT_KEPT, up to the row
    `up_to` if given), oldest first, leaving out an answer after which a newer message
    was sent (the conversation moved on; see claim_unsent), though never `up_to` itself
    (the answer just given: a message written meanwhile by the scheduler may have gone
    out before it)."""
    query = (
        select(ProcessedEvent.id, ProcessedEvent.replies)
        .add_columns(Person.language)
        .join(ChannelAccount, ChannelAccount.id == ProcessedEvent.account_id)
        .outerjoin(Person, Person.id == ChannelAccount.person_id)
        .where(
            ProcessedEvent.account_id == account_id,
            ProcessedEvent.created_at >= now - UNSENT_KEPT,
            ProcessedEvent.delivered_at.is_(None),
            ChannelAccount.unreachable.is_(False),
            or_(ProcessedEvent.id == up_to, ~_outdated()),
        )
        .order_by(ProcessedEvent.id)
    )
    if up_to is not None:
        query = query.where(ProcessedEvent.id <= up_to)
    return [
        StoredReplies(row.id, [Reply.from_dict(r) for r in row.replies], False, row.language)
        for row in conn.execute(query)
        if row.replies
    ]


def end_turn(
    conn: Connection,
    account_id: int,
    holder: str,
    sent: Collection[int],
    now: datetime,
    view: dict[str, Any] | None = None,
) -> None:
    """The replies `sent` went out: written down as such; then the turn is given back,
    with what the chat shows now (`view`, unless None: unchanged)."""
    mark_delivered(conn, sent, now)
    values: dict[str, Any] = {"holder": None, "until": None}
    if view is not None:
        values["view"] = view
    conn.execute(
        update(SendTurn)
        .where(SendTurn.account_id == account_id, SendTurn.holder == holder)
        .values(**values)
    )


def renew_turns(conn: Connection, holder: str, account_ids: Collection[int], now: datetime) -> None:
    """Keep the turns this process holds (it is alive and still sending)."""
    if account_ids:
        conn.execute(
            update(SendTurn)
            .where(SendTurn.holder == holder, SendTurn.account_id.in_(list(account_ids)))
            .values(until=_clock(conn, now) + TURN_LEASE)
        )


def give_back_turns(conn: Connection, holder: str) -> None:
    """Every turn of this process (it stops)."""
    conn.execute(update(SendTurn).where(SendTurn.holder == holder).values(holder=None, until=None))


def lag(conn: Connection, now: datetime) -> tuple[int, float | None]:
    """How many replies wait to be sent (from the last UNSENT_KEPT, to reachable people),
    and the age in seconds of the oldest: how far behind sending is."""
    count, oldest = conn.execute(
        select(func.count(), func.min(ProcessedEvent.created_at))
        .join(ChannelAccount, ChannelAccount.id == ProcessedEvent.account_id)
        .where(
            ProcessedEvent.delivered_at.is_(None),
            ProcessedEvent.created_at >= now - UNSENT_KEPT,
            ChannelAccount.unreachable.is_(False),
            _json_length(conn, ProcessedEvent.replies) > 0,
            ~_outdated(),
        )
    ).one()
    if not count or oldest is None:
        return 0, None
    return int(count), max(0.0, (now - oldest).total_seconds())


def _outdated() -> Any:
    """An answer after which a newer message to the same account was sent: not worth
    sending any more (the conversation moved on, and the newer one shows where it stands)."""
    newer = aliased(ProcessedEvent)
    superseded = (
        exists()
        .where(
            newer.account_id == ProcessedEvent.account_id,
            newer.id > ProcessedEvent.id,
            newer.delivered_at.is_not(None),
        )
        .correlate(ProcessedEvent)
    )
    is_answer = and_(*(~ProcessedEvent.event_id.startswith(prefix) for prefix in NOT_ANSWERS))
    return and_(is_answer, superseded)


def _json_length(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.jsonb_array_length(column)
    return func.json_array_length(column)


RETRY_FIRST = timedelta(seconds=15)  # the first try again of a row a channel gave up on
RETRY_MOST = timedelta(minutes=5)  # ... then doubling, up to this


def release_claims(conn: Connection, ids: Collection[int]) -> None:
    """Give back rows `claim_unsent` took that turned out to be on their way already (a
    live send that began between its commit and the look): no pause before the next try
    if that send fails."""
    if ids:
        conn.execute(
            update(ProcessedEvent)
            .where(ProcessedEvent.id.in_(list(ids)), ProcessedEvent.attempts > 0)
            .values(attempts=ProcessedEvent.attempts - 1, retry_at=None)
        )


def claim_unsent(
    conn: Connection,
    channel: str,
    now: datetime,
    older_than: timedelta,
    limit: int = 200,
    skip: Collection[int] = (),
) -> list[tuple[str, StoredReplies]]:
    """Replies never marked sent, from the last UNSENT_KEPT and at least `older_than` old
    (a live process sends within seconds; older ones were given up on, or left behind by a
    process that stopped), for reachable accounts, oldest first, with the account's
    external id. Each is taken for a while (retry_at, backing off with each attempt), so
    processes do not all send it at once and a failing one is not hammered. An answer
    after which a newer message to the same account was sent is left (outdated), and so
    are the rows in `skip` (on their way in this process)."""
    due = (
        select(ProcessedEvent.id)
        .join(ChannelAccount, ChannelAccount.id == ProcessedEvent.account_id)
        .where(
            ProcessedEvent.channel == channel,
            ProcessedEvent.delivered_at.is_(None),
            ProcessedEvent.created_at >= now - UNSENT_KEPT,
            ProcessedEvent.created_at <= now - older_than,
            or_(ProcessedEvent.retry_at.is_(None), ProcessedEvent.retry_at <= now),
            ChannelAccount.unreachable.is_(False),
            ~_outdated(),
            *([ProcessedEvent.id.not_in(list(skip))] if skip else []),
        )
        .order_by(ProcessedEvent.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(of=ProcessedEvent, skip_locked=True)
    ids = list(conn.execute(due).scalars())
    if not ids:
        return []
    rows = conn.execute(
        select(ProcessedEvent.id, ProcessedEvent.attempts, ProcessedEvent.replies)
        .add_columns(ChannelAccount.external_id, Person.language)
        .join(ChannelAccount, ChannelAccount.id == ProcessedEvent.account_id)
        .outerjoin(Person, Person.id == ChannelAccount.person_id)
        .where(ProcessedEvent.id.in_(ids))
        .order_by(ProcessedEvent.id)
    ).all()
    for row in rows:
        wait = min(RETRY_FIRST * 2 ** min(row.attempts, 10), RETRY_MOST)
        conn.execute(
            update(ProcessedEvent)
            .where(ProcessedEvent.id == row.id)
            .values(attempts=row.attempts + 1, retry_at=now + wait)
        )
    return [
        (
            row.external_id,
            StoredReplies(row.id, [Reply.from_dict(r) for r in row.replies], False, row.language),
        )
        for row in rows
        if row.replies
    ]


def mark_delivered(conn: Connection, outbox_ids: Iterable[int], now: datetime) -> None:
    """These rows were sent: their replies are let go (they may quote personal data, or
    carry a chart or an export); the event id stays, so a repeat is still recognised."""
    ids: Sequence[int] = list(outbox_ids)
    if ids:
        conn.execute(
            update(ProcessedEvent)
            .where(ProcessedEvent.id.in_(ids))
            .values(delivered_at=now, replies=[])
        )


def keep_unsent(conn: Connection, outbox_id: int, replies: Sequence[Reply]) -> None:
    """Only these of a row's replies are still to be sent (the others went out)."""
    conn.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.id == outbox_id, ProcessedEvent.delivered_at.is_(None))
        .values(replies=[r.to_dict() for r in replies])
    )


UNSENT_KEPT = timedelta(hours=24)  # replies never sent are let go after this
# Event ids of messages that are not answers to what the person sent: those stay worth
# sending after a newer answer went out; an older answer does not (the conversation has
# moved on, and the newer one shows where it stands).
NOT_ANSWERS = ("nudge:", "deadline:", "decision:", "unit-decision:", "digest:")
EVENT_IDS_KEPT = timedelta(days=7)  # longer than any channel delivers an update again


def prune(conn: Connection, now: datetime) -> int:
    """Let go of replies never sent (the channel re-sends only recent ones at start, a
    person who blocked the bot never gets them) and forget event ids of last week."""
    empty = _json_length(conn, ProcessedEvent.replies)
    emptied = conn.execute(
        update(ProcessedEvent)
        .where(
            ProcessedEvent.delivered_at.is_(None),
            ProcessedEvent.created_at < now - UNSENT_KEPT,
            empty > 0,
        )
        .values(replies=[])
    ).rowcount
    conn.execute(delete(ProcessedEvent).where(ProcessedEvent.created_at < now - EVENT_IDS_KEPT))
    conn.execute(delete(ForgottenEvent).where(ForgottenEvent.at < now - EVENT_IDS_KEPT))
    return int(emptied)


def forget_unsent(conn: Connection, account_id: int) -> None:
    """Let go of what waits to be sent to this account (an admin just revoked)."""
    conn.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.account_id == account_id, ProcessedEvent.delivered_at.is_(None))
        .values(replies=[])
    )


def forget_events(conn: Connection, account_ids: Sequence[int], now: datetime) -> None:
    """Keep the ids of these accounts' events, and nothing else (they are being erased)."""
    rows = conn.execute(
        select(ProcessedEvent.channel, ProcessedEvent.event_id).where(
            ProcessedEvent.account_id.in_(account_ids),
            ~ProcessedEvent.event_id.startswith("nudge:"),
            ~ProcessedEvent.event_id.startswith("deadline:"),
            ~ProcessedEvent.event_id.startswith("digest:"),
            ~ProcessedEvent.event_id.startswith("decision:"),
        )
    ).all()
    for channel, event_id in rows:
        forget_event(conn, channel, event_id, now)


def forget_event(conn: Connection, channel: str, event_id: str, now: datetime) -> None:
    ins = dialect_insert(conn)
    conn.execute(
        ins(ForgottenEvent)
        .values(channel=channel, event_id=event_hash(event_id), at=now)
        .on_conflict_do_nothing()
    )


def event_hash(event_id: str) -> str:
    """An event id as a forgotten event keeps it: some name the person (Zalo's follow)."""
    return hashlib.sha256(event_id.encode()).hexdigest()


def forgotten(conn: Connection, channel: str, event_id: str) -> bool:
    return (
        conn.execute(
            select(ForgottenEvent.at).where(
                ForgottenEvent.channel == channel,
                ForgottenEvent.event_id == event_hash(event_id),
            )
        ).first()
        is not None
    )


PERSONAL_MARK = '"personal": true'  # how a Reply naming people is stored (Reply.to_dict)


def forget_personal_files(conn: Connection, account_ids: Sequence[int]) -> None:
    """Empty the stored replies to these accounts that carry a file naming people (a
    commune's named list), not sent yet: someone in it was deleted."""
    if not account_ids:
        return
    find = func.strpos if conn.dialect.name == "postgresql" else func.instr
    conn.execute(
        update(ProcessedEvent)
        .where(
            ProcessedEvent.account_id.in_(account_ids),
            ProcessedEvent.delivered_at.is_(None),
            find(func.cast(ProcessedEvent.replies, String), PERSONAL_MARK) > 0,
        )
        .values(replies=[])
    )


def forget_quotes(conn: Connection, texts: Sequence[str], account_ids: Sequence[int]) -> None:
    """Empty the stored replies to these accounts (the admins of a deleted person's
    commune) that quote any of `texts` (their name or phone, in a list of candidates),
    matching case and accents exactly. Sent rows are empty already, so only those waiting
    are looked at."""
    if not account_ids:
        return
    find = func.strpos if conn.dialect.name == "postgresql" else func.instr
    stored = func.cast(ProcessedEvent.replies, String)
    for text_ in texts:
        # Stored as JSON: the text as it is, or with its non-ASCII letters escaped.
        forms = {text_, json.dumps(text_)[1:-1]}
        conn.execute(
            update(ProcessedEvent)
            .where(
                ProcessedEvent.account_id.in_(account_ids),
                ProcessedEvent.delivered_at.is_(None),
                or_(*(find(stored, form) > 0 for form in forms)),
            )
            .values(replies=[])
        )
