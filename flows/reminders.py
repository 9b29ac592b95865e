"""When to nudge someone who stopped half-way (registration or self-scoring), in pure
functions of stored times: the scheduler asks, storage records what was sent.

A person who goes quiet at time Q gets nudge n at Q + after[n] (by default 24 hours, 3 days
and 7 days), then never again; writing to the bot starts a new quiet period. Nothing is
sent between 21:00 and 07:00 in Vietnam: a nudge due then waits until 07:00. When several
are overdue at once (the bot was down), only the latest is sent, never a burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flows.lang import LOCAL_TZ


@dataclass(frozen=True)
class NudgeSchedule:
    after: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(days=3), timedelta(days=7))
    quiet_from: time = time(21, 0)  # local time: nothing is sent from here...
    quiet_until: time = time(7, 0)  # ...to here

    def __post_init__(self) -> None:
        if not self.after or any(b <= a for a, b in zip(self.after, self.after[1:], strict=False)):
            raise ValueError("nudge delays must be given, each longer than the one before")

    def in_quiet_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(LOCAL_TZ).time()
        if self.quiet_from <= self.quiet_until:  # e.g. 13:00-14:00
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until  # across midnight

    def not_in_quiet_hours(self, moment: datetime) -> datetime:
        """`moment`, or the end of the quiet hours it falls in."""
        if not self.in_quiet_hours(moment):
            return moment
        local = moment.astimezone(LOCAL_TZ)
        end = local.replace(
            hour=self.quiet_until.hour,
            minute=self.quiet_until.minute,
            second=0,
            microsecond=0,
        )
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(moment.tzinfo)

    def due_at(self, quiet_since: datetime, n: int) -> datetime | None:
        """When nudge n (0-based) of a quiet period is due; None after the last."""
        if not 0 <= n < len(self.after):
            return None
        return self.not_in_quiet_hours(quiet_since + self.after[n])

    def due(self, quiet_since: datetime, now: datetime, next_round: int) -> int | None:
        """Which nudge to send now: the latest one due, if it is `next_round` or later (one
        past the last sent in this quiet period, 0 if none was), else None (nothing due,
        quiet hours, or all sent)."""
        if self.in_quiet_hours(now):
            return None
        latest = None
        for n in range(len(self.after)):
            at = self.due_at(quiet_since, n)
            if at is not None and at <= now:
                latest = n
        if latest is None or latest < next_round:
            return None
        return latest
