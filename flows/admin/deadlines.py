"""/deadlines (/hanbaocao): an admin lists the deadlines of their scope (and those set
above it, which they see but do not change), adds one for their scope and cancels one of
theirs, in chat as `cdht deadline` does on the command line:

    /hanbaocao                                   the list
    /hanbaocao them 25/12/2026 quantri Báo cáo tháng 12
    /hanbaocao huy 7
    /hanbaocao theodoi bat                       also the reminders of those set inside

The date is day/month (every year) or day/month/year (once; a date that has passed is
refused). The audience word is optional: nguoidan (citizens who have not submitted),
daumoi (focal points of units), quantri (admins; the default). An admin above a commune
(a national or province admin) may follow the deadlines set inside their scope: they are
then reminded of those for admins too, not only of their own."""

from __future__ import annotations

from flows.admin.common import the_admin
from flows.deadlines import Deadline, DeadlineError, check_not_past, parse_due
from flows.lang import Lang
from flows.localtime import local_day
from flows.model import (
    AddDeadline,
    AdminView,
    CancelDeadline,
    Event,
    FollowInside,
    Needs,
    Snapshot,
    World,
)
from flows.navigation import aside
from flows.text import fold
from flows.turn import Turn, command

ADD_WORDS = ("them", "add", "new", "moi")
CANCEL_WORDS = ("huy", "cancel", "xoa")
FOLLOW_WORDS = ("theodoi", "follow")
ON_WORDS, OFF_WORDS = ("on", "bat", "co", "yes"), ("off", "tat", "khong", "no")
AUDIENCE_WORDS = {
    "nguoidan": "citizens",
    "citizens": "citizens",
    "daumoi": "focal_points",
    "focal": "focal_points",
    "quantri": "admins",
    "admins": "admins",
}
MAX_TITLE = 120


def audience_text(t: Lang, audience: str) -> str:
    """Who is reminded, in words."""
    return {
        "citizens": t._("citizens who have not submitted"),
        "focal_points": t._("focal points of units"),
        "admins": t._("admins"),
    }.get(audience, audience)


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(admin=True, deadlines=True)


def _help(t: Lang) -> str:
    return t._("/deadlines — the reporting deadlines of your area: list, add, cancel")


@command(
    "deadlines",
    "hanbaocao",
    "hanchot",
    "deadline",
    needs=_needs,
    admin=True,
    help=_help,
    help_rank=55,
)
def _deadlines(turn: Turn, args: str) -> None:
    words = args.split()
    folded = fold(args).replace("theo doi", "theodoi").split()
    action = folded[0] if folded else ""
    if action in ADD_WORDS:
        _add(turn, words[1:])
    elif action in CANCEL_WORDS:
        _cancel(turn, words[1:])
    elif action in FOLLOW_WORDS:
        _follow(turn, folded[1:])
    elif not words:
        _list(turn)
    else:
        aside(turn, _usage(turn.t))


def _usage(t: Lang) -> str:
    return t._(
        "Write /deadlines to see them; /deadlines add 25/12/2026 admins Monthly report to "
        "add one for your area (the date as day/month for every year, or day/month/year "
        "once; who is reminded: citizens, focal, or admins); /deadlines cancel NUMBER to "
        "cancel one."
    )


def _line(turn: Turn, d: Deadline) -> str:
    t = turn.t
    every = t._("every year") if d.yearly else t._("once")
    return t._("#{id} {due} ({every}) · {audience} · {area} · {title}").format(
        id=d.id,
        due=d.due_text(),
        every=every,
        audience=audience_text(t, d.audience),
        area=d.area.name(turn.world.places, t),
        title=d.title_in(turn.lang, turn.world.default_lang),
    )


def _list(turn: Turn) -> None:
    t, admin = turn.t, the_admin(turn)
    mine = [d for d in turn.world.deadlines if admin.area.contains(d.area)]
    above = [d for d in turn.world.deadlines if not admin.area.contains(d.area)]
    lines = [t._("Deadlines for {scope}:").format(scope=admin.area.name(turn.world.places, t))]
    lines += [_line(turn, d) for d in mine] or [t._("None yet.")]
    if above:
        lines.append(t._("Set above your area (you cannot change them):"))
        lines += [_line(turn, d) for d in above]
    if admin.area.commune is None:  # there are areas inside theirs
        lines.append(_following_text(t, admin))
    lines.append(_usage(t))
    aside(turn, "\n".join(lines))


def _following_text(t: Lang, admin: AdminView) -> str:
    if admin.follows_inside:
        return t._(
            "You are also reminded of the deadlines for admins set inside your area "
            "(/deadlines follow off to stop)."
        )
    return t._(
        "Of those set inside your area you are not reminded; to be, write /deadlines follow on."
    )


def _follow(turn: Turn, words: list[str]) -> None:
    t, admin = turn.t, the_admin(turn)
    if admin.area.commune is not None:
        aside(turn, t._("Deadlines are not set inside a commune: there is nothing to follow."))
        return
    if not words or words[0] not in ON_WORDS + OFF_WORDS:
        aside(turn, t._("Write /deadlines follow on or /deadlines follow off."))
        return
    on = words[0] in ON_WORDS
    turn.effect(FollowInside(on))
    if on:
        text = t._(
            "Done: you will also be reminded of the deadlines for admins set inside your "
            "area, {scope}."
        ).format(scope=admin.area.name(turn.world.places, t))
    else:
        text = t._(
            "Done: no more reminders of the deadlines set inside your area; those of your "
            "area and those set above it go on."
        )
    aside(turn, text)


def _add(turn: Turn, words: list[str]) -> None:
    t, admin = turn.t, the_admin(turn)
    if not words:
        aside(turn, _usage(t))
        return
    try:
        day, month, year = parse_due(words[0])
        audience = AUDIENCE_WORDS.get(fold(words[1])) if len(words) > 1 else None
        title = " ".join(words[2:] if audience else words[1:]).strip()
        if sum(ch.isalpha() for ch in title) < 3 or len(title) > MAX_TITLE:
            aside(turn, t._("Please give the deadline a title of a few words.") + "\n" + _usage(t))
            return
        deadline = Deadline(
            title={turn.lang: title},
            day=day,
            month=month,
            year=year,
            area=admin.area,
            audience=audience or "admins",
        )
    except DeadlineError:
        problem = t._(
            "I could not read that date: write it as day/month (every year) or "
            "day/month/year (once), for example 25/12/2026."
        )
        aside(turn, problem + "\n" + _usage(t))
        return
    try:
        check_not_past(deadline, local_day(turn.world.now))
    except DeadlineError:
        aside(
            turn,
            t._("{due} has passed: please choose a date from today on.").format(
                due=deadline.due_text()
            ),
        )
        return
    turn.effect(AddDeadline(deadline))
    aside(
        turn,
        t._(
            "Added: {due} · {audience} · {area} · {title}. Reminders 7, 3 and 1 days "
            "before and on the day, at 08:00."
        ).format(
            due=deadline.due_text(),
            audience=audience_text(t, deadline.audience),
            area=admin.area.name(turn.world.places, t),
            title=title,
        ),
    )


def _cancel(turn: Turn, words: list[str]) -> None:
    t, admin = turn.t, the_admin(turn)
    number = words[0].lstrip("#") if words else ""
    found = next(
        (d for d in turn.world.deadlines if number.isdigit() and d.id == int(number)), None
    )
    if found is None:
        aside(turn, t._("There is no deadline #{n} in your list.").format(n=number[:10]))
        return
    if not admin.area.contains(found.area):
        aside(
            turn,
            t._("Deadline #{n} was set above your area: you cannot cancel it.").format(n=found.id),
        )
        return
    turn.effect(CancelDeadline(found.id or 0))
    aside(
        turn,
        t._("Cancelled: no more reminders of “{title}”.").format(
            title=found.title_in(turn.lang, turn.world.default_lang)
        ),
    )
