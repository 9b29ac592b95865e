"""The Zalo OA channel's accounting: the inbox of accepted webhook deliveries, the shared
API tokens, and messaging windows and the monthly quota (Zalo lets an OA answer free
within 48 hours of a person's last message; anything else spends a monthly allowance).

Plain functions of a Connection, run in a transaction by storage.db.Database.run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from flows.windows import Cost, WindowRules, quota_month, send_cost
from storage.db import PerDialect, dialect_insert
from storage.models import (
    ChannelAccount,
    ChannelToken,
    InboundEvent,
    MessagingWindow,
    ProactiveQuota,
)


class _Statements:
    """The statements of the per-message path, built once per dialect with bind
    parameters (building a SQLAlchemy statement costs more than running it on SQLite)."""

    def __init__(self, dialect: str) -> None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.accept = (
            ins(InboundEvent)
            .on_conflict_do_nothing(index_elements=["channel", "event_key"])
            .returning(InboundEvent.id, InboundEvent.event_key)
        )
        window = ins(MessagingWindow)
        self.open_window = window.on_conflict_do_update(
            index_elements=["channel", "external_id"],
            set_={"last_inbound_at": window.excluded.last_inbound_at, "sent_in_window": 0},
        )
        self.count_sent = window.on_conflict_do_update(
            index_elements=["channel", "external_id"],
            set_={"sent_in_window": window.excluded.sent_in_window},
        )
        quota = ins(ProactiveQuota)
        self.new_month = quota.on_conflict_do_nothing(index_elements=["channel", "month"])
        self.spend = quota.on_conflict_do_update(
            index_elements=["channel", "month"],
            set_={"used": ProactiveQuota.used + quota.excluded.used},
        )
        this_window = (
            MessagingWindow.channel == bindparam("channel"),
            MessagingWindow.external_id == bindparam("external_id"),
        )
        this_month = (
            ProactiveQuota.channel == bindparam("channel"),
            ProactiveQuota.month == bindparam("month"),
        )
        self.lock_month = select(ProactiveQuota.used).where(*this_month).with_for_update()
        # Everything a booking needs, in one round trip.
        self.window = select(
            select(MessagingWindow.last_inbound_at).where(*this_window).scalar_subquery(),
            select(MessagingWindow.sent_in_window).where(*this_window).scalar_subquery(),
            select(ChannelAccount.unreachable)
            .where(
                ChannelAccount.channel == bindparam("channel"),
                ChannelAccount.external_id == bindparam("external_id"),
            )
            .scalar_subquery(),
            select(ProactiveQuota.used).where(*this_month).scalar_subquery(),
        )


_sql = PerDialect(_Statements)


# --- the inbox -------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Delivered:
    """One webhook delivery to store: its de-duplication key, the event, and the person
    whose messaging window it opens (None for events that do not, like unfollow)."""

    key: str
    payload: dict[str, Any]
    opens_window_of: str | None = None


def accept(
    conn: Connection, channel: str, deliveries: Sequence[Delivered], now: datetime
) -> list[int | None]:
    """Store deliveries before answering them, each with its inbox id, or None when the
    same key is already waiting (a repeated delivery). Two statements for any number of
    them: a burst of webhook calls is stored in one go."""
    sql = _sql(conn)
    first: dict[str, int] = {}
    for n, d in enumerate(deliveries):
        first.setdefault(d.key, n)
    fresh = [deliveries[n] for n in sorted(first.values())]
    ids: dict[str, int] = {}
    if fresh:
        rows = conn.execute(
            sql.accept,
            [
                {"channel": channel, "event_key": d.key, "payload": d.payload, "received_at": now}
                for d in fresh
            ],
        ).all()
        ids = {row.event_key: row.id for row in rows}
    opened = {d.opens_window_of for d in fresh if d.key in ids and d.opens_window_of}
    if opened:
        conn.execute(
            sql.open_window,
            [
                {"channel": channel, "external_id": u, "last_inbound_at": now, "sent_in_window": 0}
                for u in sorted(opened)
            ],
        )
    return [ids.get(d.key) if first[d.key] == n else None for n, d in enumerate(deliveries)]


def waiting(
    conn: Connection,
    channel: str,
    after: int = 0,
    limit: int = 1000,
    received_before: datetime | None = None,
) -> list[Inbound]:
    """Deliveries accepted and not yet handled (the process stopped in between), oldest
    first, from the inbox id after `after` on (for reading them page by page), and only
    those received before `received_before` if given."""
    query = (
        select(InboundEvent.id, InboundEvent.payload)
        .where(InboundEvent.channel == channel, InboundEvent.id > after)
        .order_by(InboundEvent.id)
        .limit(limit)
    )
    if received_before is not None:
        query = query.where(InboundEvent.received_at < received_before)
    rows = conn.execute(query).all()
    return [Inbound(row.id, row.payload) for row in rows]


def handled(conn: Connection, ids: Iterable[int]) -> None:
    """The dispatcher has committed these events: the inbox lets them go."""
    ids = list(ids)
    if ids:
        conn.execute(delete(InboundEvent).where(InboundEvent.id.in_(ids)))


# --- tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    refreshing_until: datetime | None
    last_error: str | None


def _tokens(row: Any) -> Tokens:
    return Tokens(
        row.access_token, row.refresh_token, row.expires_at, row.refreshing_until, row.last_error
    )


def load_tokens(
    conn: Connection, channel: str, seed: str, refresh_token: str, now: datetime
) -> Tokens | None:
    """The stored tokens. Seeds them from the configured refresh token on first use, and
    when the configured one changed since (the OA was authorised again): then it wins."""
    row = conn.execute(select(ChannelToken).where(ChannelToken.channel == channel)).first()
    if row is not None and (row.seed == seed or not refresh_token):
        return _tokens(row)
    if not refresh_token:
        return None
    epoch = datetime.fromisoformat("2000-01-01T00:00:00+00:00")  # expired: refresh first
    values = {
        "access_token": "",
        "refresh_token": refresh_token,
        "expires_at": epoch,
        "seed": seed,
        "refreshing_until": None,
        "last_error": None,
        "updated_at": now,
    }
    if row is None:
        # Processes starting together on a new database all seed it: the first one wins,
        # the others read what it wrote (the same seed).
        conn.execute(
            dialect_insert(conn)(ChannelToken)
            .values(channel=channel, **values)
            .on_conflict_do_nothing(index_elements=[ChannelToken.channel])
        )
        row = conn.execute(select(ChannelToken).where(ChannelToken.channel == channel)).one()
        return _tokens(row)
    else:
        conn.execute(update(ChannelToken).where(ChannelToken.channel == channel).values(**values))
    return Tokens("", refresh_token, epoch, None, None)


def claim_refresh(conn: Connection, channel: str, now: datetime, lease: timedelta) -> bool:
    """Take the right to refresh for `lease`, unless another process holds it."""
    result = conn.execute(
        update(ChannelToken)
        .where(
            ChannelToken.channel == channel,
            (ChannelToken.refreshing_until.is_(None)) | (ChannelToken.refreshing_until < now),
        )
        .values(refreshing_until=now + lease)
    )
    return result.rowcount == 1


def save_refreshed(
    conn: Connection,
    channel: str,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    conn.execute(
        update(ChannelToken)
        .where(ChannelToken.channel == channel)
        .values(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=expires_at,
            refreshing_until=None,
            last_error=None,
            updated_at=now,
        )
    )


def reseal(conn: Connection, channel: str, access_token: str, refresh_token: str) -> None:
    """Replace the stored tokens by their sealed form (the same tokens)."""
    conn.execute(
        update(ChannelToken)
        .where(ChannelToken.channel == channel)
        .values(access_token=access_token, refresh_token=refresh_token)
    )


def refresh_failed(conn: Connection, channel: str, error: str, now: datetime) -> None:
    conn.execute(
        update(ChannelToken)
        .where(ChannelToken.channel == channel)
        .values(refreshing_until=None, last_error=error[:300], updated_at=now)
    )


# --- messaging windows and the monthly quota ---------------------------------------------


@dataclass(frozen=True)
class Window:
    cost: Cost
    last_inbound_at: datetime | None
    sent_in_window: int
    quota_used: int
    reachable: bool = True


def _window(
    conn: Connection, channel: str, external_id: str, rules: WindowRules, now: datetime
) -> Window:
    key = {"channel": channel, "external_id": external_id, "month": quota_month(now)}
    last, sent, unreachable, used = conn.execute(_sql(conn).window, key).one()
    sent, used = sent or 0, used or 0
    cost = send_cost(rules, now, last, sent, used, not unreachable)
    return Window(cost, last, sent, used, not unreachable)


def window(
    conn: Connection, channel: str, external_id: str, rules: WindowRules, now: datetime
) -> Window:
    """Whether a message to this person now is free, spends quota, or cannot be sent."""
    return _window(conn, channel, external_id, rules, now)


def reserve(
    conn: Connection,
    channel: str,
    external_id: str,
    rules: WindowRules,
    now: datetime,
    count: int = 1,
) -> list[Cost]:
    """Book `count` messages to this person, in order: each is counted in their window,
    and in the month's quota when it is proactive. From the first Cost.NONE on, nothing is
    booked (do not send those). On PostgreSQL the month's quota row is locked first, so
    concurrent processes never spend more than the quota together."""
    sql = _sql(conn)
    month = quota_month(now)
    found = _window(conn, channel, external_id, rules, now)
    costs = _book(rules, now, found, count)
    if Cost.QUOTA in costs and conn.dialect.name == "postgresql":
        # Spending quota: lock the month's row (created if new) and count again, so that
        # concurrent processes never spend more than the quota together. Free replies,
        # nearly all of them, take no such lock.
        conn.execute(sql.new_month, {"channel": channel, "month": month, "used": 0})
        conn.execute(sql.lock_month, {"channel": channel, "month": month})
        found = _window(conn, channel, external_id, rules, now)
        costs = _book(rules, now, found, count)
    booked = [c for c in costs if c is not Cost.NONE]
    if booked:
        conn.execute(
            sql.count_sent,
            {
                "channel": channel,
                "external_id": external_id,
                "last_inbound_at": found.last_inbound_at,
                "sent_in_window": found.sent_in_window + len(booked),
            },
        )
    spent = booked.count(Cost.QUOTA)
    if spent:
        conn.execute(sql.spend, {"channel": channel, "month": month, "used": spent})
    return costs


def unbook(
    conn: Connection, channel: str, external_id: str, costs: Sequence[Cost], now: datetime
) -> None:
    """Give back what was booked for messages that were not sent after all (Zalo failed
    for longer than the retries): a free message of the window, a message of the quota."""
    unsent = [c for c in costs if c is not Cost.NONE]
    if not unsent:
        return
    conn.execute(
        update(MessagingWindow)
        .where(MessagingWindow.channel == channel, MessagingWindow.external_id == external_id)
        .values(
            sent_in_window=case(
                (
                    MessagingWindow.sent_in_window > len(unsent),
                    MessagingWindow.sent_in_window - len(unsent),
                ),
                else_=0,
            )
        )
    )
    spent = unsent.count(Cost.QUOTA)
    if spent:
        conn.execute(
            update(ProactiveQuota)
            .where(ProactiveQuota.channel == channel, ProactiveQuota.month == quota_month(now))
            .values(used=ProactiveQuota.used - spent)
        )


def forget_window(conn: Connection, channel: str, external_id: str) -> None:
    """The person deleted their data: their window goes too."""
    conn.execute(
        delete(MessagingWindow).where(
            MessagingWindow.channel == channel, MessagingWindow.external_id == external_id
        )
    )


def _book(rules: WindowRules, now: datetime, found: Window, count: int) -> list[Cost]:
    """The cost of each of `count` messages in a row; Cost.NONE from the first that
    cannot be sent on."""
    sent, used = found.sent_in_window, found.quota_used
    reachable = found.reachable
    costs: list[Cost] = []
    for _ in range(count):
        cost = send_cost(rules, now, found.last_inbound_at, sent, used, reachable)
        if cost is Cost.NONE:
            break
        costs.append(cost)
        sent += 1
        used += cost is Cost.QUOTA
    return costs + [Cost.NONE] * (count - len(costs))
