"""Deadlines (hạn báo cáo) and their reminders, in pure functions of dates and the clock
reading: the scheduler asks which reminder of a deadline is current, storage records who
got it.

A deadline falls on a day and month, every year or in one given year. It has an area (the
whole deployment, a province or a commune), an audience, and reminder offsets in days
before the due date (by default 7, 3, 1 and 0: on the day), each sent at 08:00 Vietnam
time. The current reminder is the latest offset whose time has come, until the end of the
due day; the next day a yearly deadline rolls over to next year's date. Someone who joins
the audience late gets the current reminder; a reminder missed while the bot was down is
replaced by the latest one, never sent as a burst.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import yaml

from flows.lang import N_, Lang, Problem
from flows.localtime import LOCAL_TZ, local_day
from flows.model import Option, Reply
from flows.places import Area, Gazetteer
from flows.reminders import RESUME, STOP_REMINDERS, UNIT_ASSESS

AUDIENCES = ("citizens", "focal_points", "admins")
DEFAULT_OFFSETS = (7, 3, 1, 0)
DEFAULT_AT = time(8, 0)
MAX_TITLE = 200


class DeadlineError(Problem):
    """A deadline (from the CLI, chat or the defaults file) that cannot be used; the message
    says what to write instead."""


@dataclass(frozen=True)
class Reminder:
    """One reminder of a deadline: for the due date `due`, `days_before` it, at `at`."""

    due: date
    days_before: int
    at: datetime


@dataclass(frozen=True)
class Deadline:
    title: Mapping[str, str]  # language code → title; the default language must be there
    day: int
    month: int
    year: int | None  # None: every year
    area: Area = field(default_factory=Area)
    audience: str = "citizens"
    offsets: tuple[int, ...] = DEFAULT_OFFSETS  # days before the due date, 0 = on the day
    at: time = DEFAULT_AT  # Vietnam time
    key: str | None = None  # the defaults file's name for it, so loading twice adds nothing
    id: int | None = None  # once stored

    def __post_init__(self) -> None:
        if not self.title or not any(str(v).strip() for v in self.title.values()):
            raise DeadlineError(N_("a deadline needs a title"))
        if any(len(str(v)) > MAX_TITLE for v in self.title.values()):
            raise DeadlineError(N_("a title has at most {n} characters"), n=MAX_TITLE)
        if not 1 <= self.month <= 12 or not 1 <= self.day <= 31:
            raise DeadlineError(N_("{day}/{month} is not a date"), day=self.day, month=self.month)
        if self.day > calendar.monthrange(2024, self.month)[1]:  # 2024: 29/02 allowed
            raise DeadlineError(N_("{day}/{month} is not a date"), day=self.day, month=self.month)
        if self.year is not None:
            _on(self.year, self.month, self.day)
        if self.audience not in AUDIENCES:
            raise DeadlineError(
                N_("unknown audience “{audience}”: write one of {known}"),
                audience=self.audience,
                known=", ".join(AUDIENCES),
            )
        if not self.offsets or any(not 0 <= d <= 366 for d in self.offsets):
            raise DeadlineError(N_("reminder offsets are days before the due date, 0 to 366"))
        object.__setattr__(self, "offsets", tuple(sorted(set(self.offsets), reverse=True)))

    @property
    def yearly(self) -> bool:
        return self.year is None

    def due_text(self) -> str:
        """The due date as the CLI reads it: 31/10 (every year) or 31/10/2026."""
        base = f"{self.day:02d}/{self.month:02d}"
        return base if self.year is None else f"{base}/{self.year}"

    def title_in(self, lang: str, default: str = "vi") -> str:
        return self.title.get(lang) or self.title.get(default) or next(iter(self.title.values()))

    def next_due(self, today: date) -> date | None:
        """The first due date on or after `today` (local); None once a one-off has passed."""
        if self.year is not None:
            due = _on(self.year, self.month, self.day)
            return due if due >= today else None
        due = _on(today.year, self.month, self.day)
        return due if due >= today else _on(today.year + 1, self.month, self.day)

    def reminder(self, now: datetime) -> Reminder | None:
        """The current reminder: the latest whose time has come, for the next due date."""
        today = local_day(now)
        due = self.next_due(today)
        if due is None:
            return None
        current = None
        for days in self.offsets:  # from the earliest reminder to the one on the day
            at = datetime.combine(due - timedelta(days=days), self.at, LOCAL_TZ)
            if at <= now:
                current = Reminder(due, days, at)
        return current


def check_not_past(deadline: Deadline, today: date) -> None:
    """A one-off deadline must fall today or later (a yearly one always comes again)."""
    if deadline.year is not None and _on(deadline.year, deadline.month, deadline.day) < today:
        raise DeadlineError(N_("{due} has passed"), due=deadline.due_text())


def _on(year: int, month: int, day: int) -> date:
    """The date; 29/02 falls on 28/02 in a year without it."""
    try:
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))
    except ValueError as exc:
        raise DeadlineError(
            N_("{day}/{month}/{year} is not a date"), day=day, month=month, year=year
        ) from exc


def parse_due(text: str) -> tuple[int, int, int | None]:
    """ "31/10" (every year) or "31/10/2026" (once) → (day, month, year or None)."""
    match = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?\s*", text)
    if match is None:
        raise DeadlineError(
            N_("unknown date “{text}”: write day/month (every year) or day/month/year (once)"),
            text=text,
        )
    day, month, year = match.groups()
    return int(day), int(month), int(year) if year else None


def parse_offsets(text: str) -> tuple[int, ...]:
    """ "7,3,1,0" → (7, 3, 1, 0)."""
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise DeadlineError(
            N_("offsets are whole days separated by commas, not “{text}”"), text=text
        ) from exc


def parse_time(text: str) -> time:
    match = re.fullmatch(r"\s*(\d{1,2})[:h](\d{2})\s*", text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise DeadlineError(N_("unknown time “{text}”: write hours:minutes, e.g. 08:00"), text=text)
    return time(int(match[1]), int(match[2]))


def parse_defaults(text: str, path: str, places: Gazetteer) -> list[Deadline]:
    """The deadlines a new database starts with, from the YAML text of `path` (see
    deadlines.yaml beside this module; the shell reads the file)."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DeadlineError(N_("{path}: {problem}"), path=path, problem=exc) from exc
    entries = data.get("deadlines") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise DeadlineError(N_("{path}: expected a list under “{key}”"), path=path, key="deadlines")
    found, keys = [], set()
    for n, entry in enumerate(entries, start=1):
        try:
            deadline = _from_yaml(entry, places)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeadlineError(
                N_("{path}: deadline {n}: {problem}"), path=path, n=n, problem=exc
            ) from exc
        if deadline.key in keys:
            raise DeadlineError(
                N_("{path}: deadline {n}: key “{key}” is used twice"),
                path=path,
                n=n,
                key=deadline.key,
            )
        keys.add(deadline.key)
        found.append(deadline)
    return found


def parse_retired(text: str, path: str) -> list[tuple[str, str]]:
    """The defaults of earlier versions to cancel where still active: (key, why), from
    the `retired` list of the same YAML text."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DeadlineError(N_("{path}: {problem}"), path=path, problem=exc) from exc
    entries = (data.get("retired") if isinstance(data, dict) else None) or []
    if not isinstance(entries, list):
        raise DeadlineError(N_("{path}: expected a list under “{key}”"), path=path, key="retired")
    retired = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not str(entry.get("key", "")).strip():
            raise DeadlineError(N_("{path}: retired {n}: write key: and why:"), path=path, n=n)
        retired.append((str(entry["key"]), str(entry.get("why", ""))))
    return retired


def _from_yaml(entry: Mapping[str, Any], places: Gazetteer) -> Deadline:
    title = entry["title"]
    day, month, year = parse_due(str(entry["due"]))
    offsets = entry.get("offsets", DEFAULT_OFFSETS)
    return Deadline(
        title=title if isinstance(title, dict) else {"vi": str(title)},
        day=day,
        month=month,
        year=year,
        area=Area.parse(str(entry.get("area", "all")), places),
        audience=str(entry.get("audience", "citizens")),
        offsets=tuple(int(d) for d in offsets),
        at=parse_time(str(entry.get("at", "08:00"))),
        key=str(entry["key"]),
    )


# --- what the reminder says ------------------------------------------------------------


def when_text(t: Lang, reminder: Reminder) -> str:
    days = reminder.days_before
    if days == 0:
        return t._("today")
    if days == 1:
        return t._("tomorrow")
    return t._("in {n} days").format(n=days)  # n ≥ 2 here


def reminder_reply(
    deadline: Deadline,
    reminder: Reminder,
    t: Lang,
    default_lang: str,
    year: int | None = None,
    unit: str | None = None,
    area: str | None = None,
) -> Reply:
    """The message for one recipient: a citizen who has not submitted `year`'s self-
    scoring (with a button to do it), or a focal point of `unit`, or an admin (told the
    `area` the deadline is set for: one who follows the areas inside theirs gets many)."""
    title = deadline.title_in(t.code, default_lang)
    due = t.date(reminder.due)
    head = t._("Reminder: {title}, due {when} ({date}).").format(
        title=title, when=when_text(t, reminder), date=due
    )
    if deadline.audience == "citizens":
        text = (
            head
            + "\n"
            + t._(
                "You have not submitted your self-scoring for {year} yet. It takes a few "
                "minutes, and your answers are kept."
            ).format(year=year)
        )
        options = (
            Option(RESUME, t._("Score myself now")),
            Option(STOP_REMINDERS, t._("No more reminders")),
        )
        return Reply("options", text, options)
    if unit:
        head = t._("For your unit “{unit}”:").format(unit=unit) + "\n" + head
        options = (
            Option(UNIT_ASSESS, t._("Self-assess the unit")),
            Option(STOP_REMINDERS, t._("No more reminders")),
        )
        return Reply("options", head, options)
    if area:
        head = t._("For {area}:").format(area=area) + "\n" + head
    return Reply("text", head)
