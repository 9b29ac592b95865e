"""When to nudge someone who stopped half-way (registration or self-scoring), in pure
functions of stored times: the scheduler asks, storage records what was sent.

A person who goes quiet at time Q gets nudge n at Q + after[n] (by default 24 hours, 3 days
and 7 days), then never again; writing to the bot starts a new quiet period. Nothing is
sent between 21:00 and 07:00 in Vietnam: a nudge due then waits until 07:00. When several
are overdue at once (the bot was down), only the latest is sent, never a burst.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from flows.lang import Lang
from flows.localtime import LOCAL_TZ
from flows.model import Option, Reply, Snapshot, World

# Options of a nudge, understood on any screen (a nudge arrives whatever the person was
# doing, and its buttons stay usable later).
RESUME = "resume"
STOP_REMINDERS = "reminders_off"
UNIT_ASSESS = "unit_assess"  # a focal point's reminder: open the unit's self-assessment
FAMILY = "family"  # the citizen's menu: open their learning family


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


DEFAULT_SCHEDULE = NudgeSchedule()


def reminders_on(state: Mapping[str, Any]) -> bool:
    """A person's choice (/reminders off, /reminders on); on unless turned off."""
    return state.get("reminders", True) is not False


def unfinished(snapshot: Snapshot) -> str | None:
    """What the person stopped half-way through: "registration", "assessment" or None."""
    a = snapshot.assessment
    return stopped_in(snapshot.state, snapshot.person is not None, a.status if a else None)


def stopped_in(state: Mapping[str, Any], registered: bool, status: str | None) -> str | None:
    """`unfinished` from the stored facts alone (the scheduler reads them for many people
    at once): the conversation state, whether they registered, and the status of this
    year's assessment if any."""
    if not registered:
        return "registration" if state.get("draft") else None
    return "assessment" if status == "in_progress" else None


def nudge(snapshot: Snapshot, t: Lang, questions: int) -> Reply | None:
    """The reminder for someone who stopped half-way, with a one-tap way back to the
    exact question; None if there is nothing to nudge about or they said no."""
    a = snapshot.assessment
    return _nudge(
        snapshot.state,
        snapshot.person is not None,
        a.status if a else None,
        len(a.answers) if a else 0,
        t,
        questions,
    )


def nudge_for(
    state: Mapping[str, Any], registered: bool, status: str | None, answered: int, world: World
) -> Reply | None:
    """`nudge` from the stored facts alone (see `stopped_in`), in the person's language:
    storage writes the nudges of many people at once from what it reads."""
    t = world.langs.get(state.get("lang") or "") or world.langs[world.default_lang]
    return _nudge(state, registered, status, answered, t, len(world.criteria.indicators))


def _nudge(
    state: Mapping[str, Any],
    registered: bool,
    status: str | None,
    answered: int,
    t: Lang,
    questions: int,
) -> Reply | None:
    what = stopped_in(state, registered, status)
    if what is None or not reminders_on(state):
        return None
    if what == "registration":
        text = t._(
            "You started registering as a Learning Citizen but did not finish. It takes a "
            "few minutes, and what you entered is kept."
        )
    else:
        text = t._(
            "You have answered {done} of {total} questions of your self-scoring. "
            "Your answers are kept: finish when you have a moment."
        ).format(done=answered, total=questions)
    return Reply("options", text, resume_options(t))


def resume_options(t: Lang) -> tuple[Option, ...]:
    """The buttons of every reminder: back to where I stopped, or no more reminders."""
    return (
        Option(RESUME, t._("Continue where I stopped")),
        Option(STOP_REMINDERS, t._("No more reminders")),
    )
