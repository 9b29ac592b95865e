"""/units (/donvihoctap): the learning units of an admin's scope and where their
self-assessments stand. An admin opens a submitted one, sees each indicator's points and
who answered, and recognises it or returns it with a reason; the unit's focal points are
told in their channel (the scheduler sends `unit_decision_reply`).

The units are read by the shell (Needs.units, for the year units assess now), only inside
the admin's scope; the storage checks the scope again when the decision is written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flows.admin.common import the_admin
from flows.criteria import pick
from flows.lang import Lang
from flows.localtime import LOCAL_TZ
from flows.model import DecideUnit, Event, Needs, Option, Reply, Snapshot, UnitRow, World
from flows.navigation import aside, leave
from flows.reminders import UNIT_ASSESS
from flows.screens import UNITS_ADMIN, UNITS_LIST, UNITS_ONE, UNITS_REASON
from flows.text import tidy
from flows.turn import Turn, command, screen
from flows.unit_assessment import criteria_of, unit_year

LISTED = 8  # units waiting for a decision shown at a time
MAX_REASON = 300


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(admin=True, units=unit_year(world.now))


def _help(t: Lang) -> str:
    return t._("/units — the learning units of your area: recognise or return them")


@command("units", "donvihoctap", "dvht", needs=_needs, admin=True, help=_help, help_rank=32)
def _units(turn: Turn, args: str) -> None:
    the_admin(turn)
    if not _waiting(turn):
        aside(turn, _summary(turn))
        return
    if turn.screen not in UNITS_ADMIN:
        turn.state["units_back"] = turn.screen
    turn.go(UNITS_LIST)


# --- reading ---------------------------------------------------------------------------


def _waiting(turn: Turn) -> list[UnitRow]:
    """Units whose submitted self-assessment waits for a decision."""
    return [
        u
        for u in turn.world.units
        if u.status == "submitted" and u.recognised_at is None and u.assessment_id is not None
    ]


def _picked(turn: Turn) -> UnitRow | None:
    pick_id, seen = turn.state.get("unit_pick"), turn.state.get("unit_seen")
    return next(
        (u for u in _waiting(turn) if u.assessment_id == pick_id and _version(u) == seen),
        None,
    )


def _version(unit: UnitRow) -> str:
    """Which submission of a unit the admin looks at: a unit returned and submitted
    anew meanwhile is another one, to be looked at before deciding."""
    return unit.submitted_at.isoformat() if unit.submitted_at else ""


def _grade(turn: Turn, unit: UnitRow) -> str:
    t = turn.t
    criteria = criteria_of(turn.world, unit.criteria)
    band = next((b for b in criteria.bands if b.code == unit.band), None)
    if band is not None:
        return pick(band.name, turn.lang)
    return t._("every target met") if unit.reached else t._("not every target met")


def _summary(turn: Turn) -> str:
    """The units of the scope by where they stand, and the first few by name."""
    t = turn.t
    admin = the_admin(turn)
    units = turn.world.units
    year = unit_year(turn.world.now)
    area = admin.area.name(turn.world.places, t)
    if not units:
        return t._(
            "No learning unit of {area} has registered yet. Give units a code with /invite "
            "unit: their focal points register with /unit CODE and self-assess here."
        ).format(area=area)
    submitted = sum(1 for u in units if u.status == "submitted")
    recognised = sum(1 for u in units if u.recognised_at is not None)
    lines = [
        t._(
            "Learning units of {area}, self-assessment of {year}: {n} units, {submitted} "
            "submitted, {recognised} recognised. None is waiting for a decision."
        ).format(
            area=area,
            year=year,
            n=t.number(len(units)),
            submitted=t.number(submitted),
            recognised=t.number(recognised),
        )
    ]
    for n, unit in enumerate(units[:LISTED], start=1):
        lines.append(f"{n}. {unit.name} — {_standing(turn, unit)}")
    if len(units) > LISTED:
        lines.append(t._("The export (/export) lists every unit."))
    return "\n".join(lines)


def _standing(turn: Turn, unit: UnitRow) -> str:
    t = turn.t
    if unit.recognised_at is not None:
        return t._("recognised on {date}").format(
            date=t.date(unit.recognised_at.astimezone(LOCAL_TZ))
        )
    if unit.status == "submitted":
        return t._("{total} points, {grade}").format(total=unit.total, grade=_grade(turn, unit))
    if unit.returned_at is not None:
        return t._("returned, being changed")
    if unit.status == "in_progress":
        return t._("in progress")
    return t._("not started")


# --- leaving ---------------------------------------------------------------------------


def _leave(turn: Turn, text: str) -> None:
    turn.state.pop("unit_pick", None)
    turn.state.pop("unit_reason_for", None)
    turn.say(text)
    leave(turn, turn.state.pop("units_back", None))


def _is_admin(turn: Turn) -> bool:
    return turn.world.admin is not None


def _list_valid(turn: Turn) -> bool:
    return _is_admin(turn) and bool(_waiting(turn))


def _list_invalid(turn: Turn) -> None:
    if not _is_admin(turn):
        _leave(turn, turn.t._("You are no longer an admin."))
    else:
        _leave(turn, _summary(turn))


def _one_valid(turn: Turn) -> bool:
    return _is_admin(turn) and _picked(turn) is not None


def _one_invalid(turn: Turn) -> None:
    if not _list_valid(turn):
        _list_invalid(turn)
    else:
        turn.state.pop("unit_pick", None)
        turn.say(turn.t._("That unit was decided on, or submitted anew, meanwhile."))
        turn.go(UNITS_LIST)


# --- the list --------------------------------------------------------------------------


def _on_list(turn: Turn, option: str) -> None:
    if option == "done":
        _leave(turn, turn.t._("Done. /units shows the units again."))
        return
    pick_id = int(option.removeprefix("u"))
    unit = next((u for u in _waiting(turn) if u.assessment_id == pick_id), None)
    turn.state["unit_pick"] = pick_id
    turn.state["unit_seen"] = _version(unit) if unit is not None else ""
    turn.go(UNITS_ONE)


@screen(UNITS_LIST, on_option=_on_list, needs=_needs, valid=_list_valid, on_invalid=_list_invalid)
def _ask_list(turn: Turn) -> None:
    t = turn.t
    waiting = _waiting(turn)
    lines = [
        t._(
            "{n} learning units of your area submitted their self-assessment of {year} and "
            "wait for your decision. Tap one to see it:"
        ).format(n=t.number(len(waiting)), year=unit_year(turn.world.now))
    ]
    options = []
    for n, unit in enumerate(waiting[:LISTED], start=1):
        area = unit.area.name(turn.world.places, t)
        lines.append(f"{n}. {unit.name} ({area}) — {_standing(turn, unit)}")
        options.append(Option(f"u{unit.assessment_id}", unit.name))
    options.append(Option("done", t._("Done")))
    turn.ask("\n".join(lines), options)


# --- one unit --------------------------------------------------------------------------


def _decided(turn: Turn, unit: UnitRow, **changes: object) -> None:
    """This step's view of the units, after the decision."""
    units = tuple(replace(u, **changes) if u is unit else u for u in turn.world.units)  # type: ignore[arg-type]
    turn.world = replace(turn.world, units=units)
    turn.state.pop("unit_pick", None)


def _on_one(turn: Turn, option: str) -> None:
    t = turn.t
    unit = _picked(turn)
    if unit is None or unit.assessment_id is None:  # (checked before any input)
        return
    if option == "back":
        turn.state.pop("unit_pick", None)
        turn.go(UNITS_LIST)
    elif option == "return":
        turn.state["unit_reason_for"] = unit.assessment_id
        turn.go(UNITS_REASON)
    elif option == "recognise":
        turn.effect(DecideUnit(unit.assessment_id, unit.submitted_at, unit.area))
        _decided(turn, unit, recognised_at=turn.world.now)
        turn.say(
            t._("“{unit}” is recognised as a learning unit. Its focal points are told.").format(
                unit=unit.name
            )
        )
        _next(turn)


def _next(turn: Turn) -> None:
    if _waiting(turn):
        turn.go(UNITS_LIST)
    else:
        _leave(turn, turn.t._("No other unit is waiting for a decision."))


@screen(UNITS_ONE, on_option=_on_one, needs=_needs, valid=_one_valid, on_invalid=_one_invalid)
def _ask_one(turn: Turn) -> None:
    t = turn.t
    unit = _picked(turn)
    if unit is None:  # (checked before rendering)
        return
    criteria = criteria_of(turn.world, unit.criteria)
    lines = [
        f"{unit.name} — {unit.area.name(turn.world.places, t)}",
        t._("Self-assessment of {year} ({criteria}), submitted at {when}{by}.").format(
            year=unit_year(turn.world.now),
            criteria=pick(criteria.name, turn.lang),
            when=t.datetime(unit.submitted_at) if unit.submitted_at else "",
            by=f", {unit.submitted_by}" if unit.submitted_by else "",
        ),
        "",
    ]
    for indicator in criteria.indicators:
        points = unit.points.get(indicator.code)
        lines.append(
            f"{indicator.code} {pick(indicator.name, turn.lang)}: "
            f"{'' if points is None else points}/{indicator.max_points}"
        )
    lines.append("")
    lines.append(
        t._("Total: {total}/{max} points").format(total=unit.total, max=criteria.max_total)
        + f" — {_grade(turn, unit)}"
    )
    turn.ask(
        "\n".join(lines),
        [
            Option("recognise", t._("Recognise")),
            Option("return", t._("Return with a reason")),
            Option("back", "⬅ " + t._("Back")),
        ],
    )


def _reason_valid(turn: Turn) -> bool:
    return _one_valid(turn) and turn.state.get("unit_reason_for") == turn.state.get("unit_pick")


def _on_reason(turn: Turn, text: str) -> None:
    t = turn.t
    unit = _picked(turn)
    reason = tidy(text)
    if unit is None or unit.assessment_id is None:  # (checked before any input)
        return
    if sum(ch.isalpha() for ch in reason) < 3 or len(reason) > MAX_REASON:
        turn.again(
            t._("Please write the reason in a few words, at most {max} characters.").format(
                max=MAX_REASON
            )
        )
        return
    turn.effect(DecideUnit(unit.assessment_id, unit.submitted_at, unit.area, reason))
    _decided(turn, unit, status="in_progress", returned_at=turn.world.now)
    turn.state.pop("unit_reason_for", None)
    turn.say(
        t._("The self-assessment of “{unit}” is returned. Its focal points are told.").format(
            unit=unit.name
        )
    )
    _next(turn)


def _on_reason_option(turn: Turn, option: str) -> None:
    turn.state.pop("unit_reason_for", None)
    turn.go(UNITS_ONE)


@screen(
    UNITS_REASON,
    on_text=_on_reason,
    on_option=_on_reason_option,
    needs=_needs,
    valid=_reason_valid,
    on_invalid=_one_invalid,
)
def _ask_reason(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "Why is it returned? Write a short note for the unit's focal points, for example: "
            "“Please attach the plan for criterion 1.1.”"
        ),
        [Option("back", "⬅ " + t._("Back"))],
    )


# --- what the focal points are told ----------------------------------------------------


def unit_decision_reply(
    unit: str,
    year: int,
    recognised: bool,
    at: datetime,
    reason: str | None,
    t: Lang,
    by: str,
) -> Reply:
    """The message to a unit's focal points about the decision `by` (the area that gave
    the unit its code) took on its self-assessment."""
    date = t.date(at.astimezone(LOCAL_TZ))
    if recognised:
        return Reply(
            "text",
            "🎉 "
            + t._(
                "On {date}, {by} recognised “{unit}” as a learning unit for {year}. "
                "Congratulations to everyone in it!"
            ).format(date=date, by=by, unit=unit, year=year),
        )
    return Reply(
        "options",
        t._(
            "On {date}, {by} returned the self-assessment of “{unit}” for {year} with this "
            "note: “{reason}”. Correct it as the note says, then submit it again."
        ).format(date=date, by=by, unit=unit, year=year, reason=reason or ""),
        (Option(UNIT_ASSESS, t._("Correct and submit again")),),
    )
