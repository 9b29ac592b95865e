"""Vietnam's time: every time a person sees, every "day" a reminder or digest counts, is in
Asia/Ho_Chi_Minh, whatever the server's time zone. The clock reading itself comes from the
shell (bot.clock); these are pure conversions of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_day(moment: datetime) -> date:
    """The calendar day in Vietnam at `moment`."""
    return moment.astimezone(LOCAL_TZ).date()


def local_midnight(day: date) -> datetime:
    """The start of a Vietnamese day, in UTC."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)
