"""Queries for channels that receive by webhook and pay by the message (Zalo): the inbox
of accepted deliveries, the shared API tokens, messaging windows and the monthly quota.

Plain functions of a Connection, run in a transaction by storage.db.Database.run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from flows.windows import Cost, WindowRules, quota_month, send_cost
from storage.models import (
    ChannelAccount,
    ChannelToken,
    InboundEvent,
    MessagingWindow,
    ProactiveQuota,
)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


# --- the inbox -------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    id: int
    payload: dict[str, Any]


def accept(
    conn: Connection,
    channel: str,
    event_key: str,
    payload: dict[str, Any],
    now: datetime,
    inbound_from: str | None = None,
) -> int | None:
    """Store a delivery before answering it. None if the same key is already waiting (a
    repeated delivery). With `inbound_from`, the person's messaging window opens again."""
    stored = conn.execute(
        _insert(conn)(InboundEvent)
        .values(channel=channel, event_key=event_key, payload=payload, received_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "event_key"])
        .returning(InboundEvent.id)
    ).scalar_one_or_none()
    if stored is not None and inbound_from is not None:
        ins = _insert(conn)(MessagingWindow).values(
            channel=channel, external_id=inbound_from, last_inbound_at=now, sent_in_window=0
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["channel", "external_id"],
                set_={"last_inbound_at": now, "sent_in_window": 0},
            )
        )
    return stored


def waiting(conn: Connection, channel: str, limit: int = 1000) -> list[Inbound]:
    """Deliveries accepted and not yet handled (the process stopped in between), oldest
    first."""
    rows = conn.execute(
        select(InboundEvent.id, InboundEvent.payload)
        .where(InboundEvent.channel == channel)
        .order_by(InboundEvent.id)
        .limit(limit)
    ).all()
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
        conn.execute(_insert(conn)(ChannelToken).values(channel=channel, **values))
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


def _window(
    conn: Connection, channel: str, external_id: str, rules: WindowRules, now: datetime
) -> tuple[Window, bool]:
    row = conn.execute(
        select(MessagingWindow.last_inbound_at, MessagingWindow.sent_in_window).where(
            MessagingWindow.channel == channel, MessagingWindow.external_id == external_id
        )
    ).first()
    unreachable = conn.execute(
        select(ChannelAccount.unreachable).where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
    ).scalar()
    used = quota_used(conn, channel, now)
    last, sent = (row.last_inbound_at, row.sent_in_window) if row else (None, 0)
    cost = send_cost(rules, now, last, sent, used, reachable=not unreachable)
    return Window(cost, last, sent, used), row is not None


def window(
    conn: Connection, channel: str, external_id: str, rules: WindowRules, now: datetime
) -> Window:
    """Whether a message to this person now is free, spends quota, or cannot be sent."""
    return _window(conn, channel, external_id, rules, now)[0]


def quota_used(conn: Connection, channel: str, now: datetime) -> int:
    return (
        conn.execute(
            select(ProactiveQuota.used).where(
                ProactiveQuota.channel == channel, ProactiveQuota.month == quota_month(now)
            )
        ).scalar()
        or 0
    )


def reserve(
    conn: Connection, channel: str, external_id: str, rules: WindowRules, now: datetime
) -> Cost:
    """Book one message to this person: counted in their window, and in the month's quota
    when it is proactive. Cost.NONE books nothing (do not send). On PostgreSQL the quota
    row is locked, so concurrent processes never spend more than the quota."""
    ins = _insert(conn)
    if conn.dialect.name == "postgresql":  # lock the month's row first (created if new)
        conn.execute(
            ins(ProactiveQuota)
            .values(channel=channel, month=quota_month(now), used=0)
            .on_conflict_do_nothing(index_elements=["channel", "month"])
        )
        conn.execute(
            select(ProactiveQuota.used)
            .where(ProactiveQuota.channel == channel, ProactiveQuota.month == quota_month(now))
            .with_for_update()
        )
    current, exists = _window(conn, channel, external_id, rules, now)
    if current.cost is Cost.NONE:
        return Cost.NONE
    if exists:
        conn.execute(
            update(MessagingWindow)
            .where(MessagingWindow.channel == channel, MessagingWindow.external_id == external_id)
            .values(sent_in_window=MessagingWindow.sent_in_window + 1)
        )
    else:
        conn.execute(
            ins(MessagingWindow).values(
                channel=channel, external_id=external_id, last_inbound_at=None, sent_in_window=1
            )
        )
    if current.cost is Cost.QUOTA:
        add = ins(ProactiveQuota).values(channel=channel, month=quota_month(now), used=1)
        conn.execute(
            add.on_conflict_do_update(
                index_elements=["channel", "month"], set_={"used": ProactiveQuota.used + 1}
            )
        )
    return current.cost
