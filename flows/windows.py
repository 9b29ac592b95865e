"""Messaging windows: may a channel message someone now, and at what cost?

Zalo Official Accounts answer for free for a while after the person last wrote (48 hours,
at most 8 messages, the count starting again at each new message from them); anything
else is "proactive" and spends a monthly quota. Pure: the caller passes what is stored
and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from flows.localtime import LOCAL_TZ


class Cost(Enum):
    FREE = "free"  # inside the window
    QUOTA = "quota"  # proactive: spends one message of the monthly quota
    NONE = "cannot"  # proactive and the quota is spent, or the person cannot be reached


@dataclass(frozen=True)
class WindowRules:
    free_for: timedelta = timedelta(hours=48)
    free_messages: int = 8
    monthly_quota: int = 1000


def send_cost(
    rules: WindowRules,
    now: datetime,
    last_inbound_at: datetime | None,
    sent_in_window: int,
    quota_used: int,
    reachable: bool = True,
) -> Cost:
    """What sending one more message to this person now costs."""
    if not reachable:
        return Cost.NONE
    if (
        last_inbound_at is not None
        and now - last_inbound_at < rules.free_for
        and sent_in_window < rules.free_messages
    ):
        return Cost.FREE
    return Cost.QUOTA if quota_used < rules.monthly_quota else Cost.NONE


def quota_month(now: datetime) -> str:
    """The quota's month: it starts again on the 1st, in Vietnam."""
    return now.astimezone(LOCAL_TZ).strftime("%Y-%m")
