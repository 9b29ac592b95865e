"""/recognise (/congnhan): the people of a commune whose submitted self-score reaches the
title and who are not recognised yet. An admin recognises one, all (after a confirmation)
or returns one with a reason; each citizen is told in their channel.

The candidates are read by the shell (see `_screen_needs`, `_command_needs`): the first
`LISTED` still waiting, plus those decided on in this session (kept in the state, so they
are not listed again before the shell reads after the decision). The screens here check
before any input that they still make sense: an admin whose rights were revoked, or a
person decided on meanwhile, is led away with a word why.
"""

from __future__ import annotations

from datetime import datetime

from flows.admin.common import asked, campaign_year, scoped, the_admin, year_readable
from flows.criteria import pick
from flows.digest import group_label
from flows.lang import Lang
from flows.localtime import LOCAL_TZ
from flows.model import (
    Candidate,
    Event,
    Listing,
    Needs,
    Option,
    Recognise,
    RecognitionState,
    Reply,
    ReturnAssessment,
    Snapshot,
    World,
)
from flows.navigation import aside, leave
from flows.places import Area
from flows.reminders import RESUME
from flows.screens import REC_ALL, REC_LIST, REC_ONE, REC_REASON, RECOGNITION
from flows.text import tidy
from flows.turn import Turn, command, screen

LISTED = 8  # candidates shown at a time
DONE_KEPT = 20  # decisions of this session remembered, so they are not listed again
MAX_REASON = 300


# --- what is read ----------------------------------------------------------------------


def _command_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    question = asked(event.args, world.places)
    area = question.area
    if not question.readable or (area is not None and area.commune is None):
        return Needs(admin=True)  # the handler says why nothing is listed
    if not year_readable(question, world):
        return Needs(admin=True)  # the handler says why nothing is listed
    if question.name:
        if not question.options:
            return Needs(admin=True)
        listing = Listing(None, LISTED + DONE_KEPT, question.options, question.year)
        return Needs(admin=True, candidates=listing)
    commune = area.commune if area is not None else None
    return Needs(admin=True, candidates=Listing(commune, LISTED + DONE_KEPT, year=question.year))


def _screen_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    rec = snapshot.state.get("rec") or {}
    commune = rec.get("commune")
    if commune is None:
        return Needs(admin=True)
    return Needs(admin=True, candidates=Listing(commune, LISTED + DONE_KEPT, year=rec.get("year")))


# --- the command -----------------------------------------------------------------------


def _help(t: Lang) -> str:
    return t._("/recognise — recognise the titles of a commune")


@command(
    "recognise",
    "congnhan",
    "recognize",
    needs=_command_needs,
    admin=True,
    help=_help,
    help_rank=30,
)
def _recognise(turn: Turn, args: str) -> None:
    t = turn.t
    area = scoped(turn, the_admin(turn), args)
    year = campaign_year(turn, args) if area is not None else None
    if area is None or year is None:
        return
    if area.commune is None:
        aside(
            turn,
            t._(
                "Titles are recognised commune by commune: write /recognise xa:CODE for a "
                "commune in your area."
            ),
        )
        return
    if turn.screen not in RECOGNITION:
        turn.state["rec_back"] = turn.screen
    turn.state["rec"] = {"commune": area.commune, "done": [], "year": year}
    turn.go(REC_LIST)


# --- reading the state and the world ---------------------------------------------------


def _rec(turn: Turn) -> RecognitionState:
    return turn.state.get("rec") or {}


def _year(turn: Turn) -> int:
    """The campaign year being recognised (asked for with the command, else this one)."""
    return _rec(turn).get("year") or turn.world.campaign_year


def _candidates(turn: Turn) -> tuple[int, list[Candidate]]:
    """How many wait, and those to list (without the ones decided on in this session)."""
    found = turn.world.candidates
    rec = _rec(turn)
    if found is None or found.commune != rec.get("commune"):
        return 0, []
    done = set(rec.get("done", []))
    shown = [c for c in found.listed if c.assessment_id not in done]
    return found.count - (len(found.listed) - len(shown)), shown


def _picked(turn: Turn) -> Candidate | None:
    _, shown = _candidates(turn)
    pick = _rec(turn).get("pick")
    return next((c for c in shown if c.assessment_id == pick), None)


def _commune_name(turn: Turn) -> str:
    code = _rec(turn).get("commune")
    commune = turn.world.places.commune(code)
    return commune.name if commune else str(code)


def _still_admin(turn: Turn) -> bool:
    """The admin still decides for this commune (not revoked or moved meanwhile)."""
    admin = turn.world.admin
    commune = turn.world.places.commune(_rec(turn).get("commune"))
    if admin is None or commune is None:
        return False
    return admin.area.contains(Area(commune.province_code, commune.code))


# --- leaving ---------------------------------------------------------------------------


def _leave_rec(turn: Turn, text: str) -> None:
    turn.state.pop("rec", None)
    back = turn.state.pop("rec_back", None)
    turn.say(text)
    leave(turn, back)


def _back_to_list(turn: Turn, text: str) -> None:
    turn.state.setdefault("rec", {}).pop("pick", None)
    turn.say(text)
    turn.go(REC_LIST)


def _decided(turn: Turn, assessment_id: int) -> None:
    rec = turn.state.setdefault("rec", {})
    rec["done"] = [*rec.get("done", [])[-(DONE_KEPT - 1) :], assessment_id]


def _list_valid(turn: Turn) -> bool:
    return _still_admin(turn) and _candidates(turn)[0] > 0


def _list_invalid(turn: Turn) -> None:
    t = turn.t
    if not _still_admin(turn):
        _leave_rec(turn, t._("You are no longer an admin for this commune."))
    else:
        _leave_rec(
            turn,
            t._("No one in {commune} is waiting for recognition ({year}).").format(
                commune=_commune_name(turn), year=_year(turn)
            ),
        )


def _one_valid(turn: Turn) -> bool:
    return _still_admin(turn) and _picked(turn) is not None


def _one_invalid(turn: Turn) -> None:
    if not _still_admin(turn):
        _list_invalid(turn)
    else:
        _back_to_list(turn, turn.t._("That person has been decided on meanwhile."))


def _all_valid(turn: Turn) -> bool:
    return _still_admin(turn) and "until" in _rec(turn)


def _all_invalid(turn: Turn) -> None:
    if not _still_admin(turn):
        _list_invalid(turn)
    else:
        _back_to_list(turn, turn.t._("Nothing changed."))


# --- the list --------------------------------------------------------------------------


def _on_list(turn: Turn, option: str) -> None:
    rec = turn.state.setdefault("rec", {})
    if option == "done":
        _leave_rec(turn, turn.t._("Done. /recognise shows the list again."))
    elif option == "all":
        count, _ = _candidates(turn)
        rec["until"], rec["count"] = turn.world.now.isoformat(), count
        turn.go(REC_ALL)
    else:
        rec["pick"] = int(option[1:])
        turn.go(REC_ONE)


@screen(
    REC_LIST,
    on_option=_on_list,
    needs=_screen_needs,
    valid=_list_valid,
    on_invalid=_list_invalid,
)
def _ask_list(turn: Turn) -> None:
    t = turn.t
    count, shown = _candidates(turn)
    lines = [
        t._(
            "{n} people in {commune} reach the title by their self-assessment of {year} and "
            "are not recognised yet. Tap a name to recognise or return it:"
        ).format(n=t.number(count), commune=_commune_name(turn), year=_year(turn))
    ]
    options = []
    for n, c in enumerate(shown[:LISTED], start=1):
        village = f", {c.village}" if c.village else ""
        lines.append(
            t._("{n}. {name}{village} — {total} points, {group}").format(
                n=n,
                name=c.name,
                village=village,
                total=c.total,
                group=group_label(c.group, turn.world.criteria, t),
            )
        )
        options.append(Option(f"p{c.assessment_id}", c.name))
    if count > 1:  # one person: tapping the name does it
        options.append(Option("all", t._("Recognise all {n}").format(n=t.number(count))))
    options.append(Option("done", t._("Done")))
    turn.ask("\n".join(lines), options)


# --- one person ------------------------------------------------------------------------


def _on_one(turn: Turn, option: str) -> None:
    t = turn.t
    c = _picked(turn)
    commune = _rec(turn).get("commune")
    if c is None or commune is None:  # pragma: no cover - the screen is valid
        _one_invalid(turn)
    elif option == "yes":
        turn.effect(Recognise(commune, _year(turn), c.assessment_id))
        _decided(turn, c.assessment_id)
        _back_to_list(turn, t._("Recognised: {name}. They will be told.").format(name=c.name))
    elif option == "return":
        turn.go(REC_REASON)
    else:
        _back_to_list(turn, t._("Nothing changed."))


@screen(
    REC_ONE,
    on_option=_on_one,
    needs=_screen_needs,
    valid=_one_valid,
    on_invalid=_one_invalid,
)
def _ask_one(turn: Turn) -> None:
    t = turn.t
    c = _picked(turn)
    if c is None:  # pragma: no cover - the screen is valid
        return
    village = f", {c.village}" if c.village else ""
    lines = [
        t._("{name}{village}: {total} points ({group}), submitted {date}.").format(
            name=c.name,
            village=village,
            total=c.total,
            group=group_label(c.group, turn.world.criteria, t),
            date=t.date(c.submitted_at),
        )
    ]
    facts = []
    if c.birth_year:
        facts.append(t._("born {year}").format(year=c.birth_year))
    if c.phone:
        facts.append(t._("phone {phone}").format(phone=c.phone))
    if facts:
        lines.append(", ".join(facts))
    if c.points:
        lines.append(t._("Points per indicator:"))
        lines.extend(
            f"• {i.code} {pick(i.name, turn.lang)}: {c.points.get(i.code, 0)}/{i.max_points}"
            for i in turn.world.criteria.indicators
        )
    lines.append(t._("Recognise the title, or return the self-assessment with a reason?"))
    turn.ask(
        "\n".join(lines),
        [
            Option("yes", t._("Recognise")),
            Option("return", t._("Return with a reason")),
            Option("back", t._("Back to the list")),
        ],
    )


def _on_reason(turn: Turn, text: str) -> None:
    t = turn.t
    reason = tidy(text)
    if len(reason) > MAX_REASON or sum(ch.isalpha() for ch in reason) < 3:
        turn.again(
            t._("Please write the reason in a few words, at most {max} characters.").format(
                max=MAX_REASON
            )
        )
        return
    c = _picked(turn)
    commune = _rec(turn).get("commune")
    if c is None or commune is None:  # pragma: no cover - the screen is valid
        _one_invalid(turn)
        return
    turn.effect(ReturnAssessment(commune, _year(turn), c.assessment_id, reason))
    _decided(turn, c.assessment_id)
    _back_to_list(
        turn,
        t._(
            "Returned to {name} with your reason. They can change their answers and submit again."
        ).format(name=c.name),
    )


def _on_reason_cancel(turn: Turn, option: str) -> None:
    turn.go(REC_ONE)


@screen(
    REC_REASON,
    on_option=_on_reason_cancel,
    on_text=_on_reason,
    needs=_screen_needs,
    valid=_one_valid,
    on_invalid=_one_invalid,
)
def _ask_reason(turn: Turn) -> None:
    t = turn.t
    c = _picked(turn)
    turn.ask(
        t._("Why is {name}'s self-assessment returned? They will read your words.").format(
            name=c.name if c else ""
        ),
        [Option("back", t._("Back"))],
    )


# --- everyone --------------------------------------------------------------------------


def _on_all(turn: Turn, option: str) -> None:
    t = turn.t
    rec = _rec(turn)
    commune, until = rec.get("commune"), rec.get("until")
    if option != "yes" or commune is None or until is None:
        _back_to_list(turn, t._("Nothing changed."))
        return
    turn.effect(Recognise(commune, _year(turn), until=datetime.fromisoformat(until)))
    _leave_rec(
        turn,
        t._("Recognised: {n} people in {commune}. Each of them will be told.").format(
            n=t.number(rec.get("count", 0)), commune=_commune_name(turn)
        ),
    )


@screen(
    REC_ALL,
    on_option=_on_all,
    needs=_screen_needs,
    valid=_all_valid,
    on_invalid=_all_invalid,
)
def _ask_all(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "Recognise the title of all {n} people in {commune} who reach it by their "
            "self-assessment of {year}? Each of them will be told."
        ).format(
            n=t.number(_rec(turn).get("count", 0)), commune=_commune_name(turn), year=_year(turn)
        ),
        [Option("yes", t._("Yes, recognise all")), Option("no", t._("No, back to the list"))],
    )


# --- telling the citizen ---------------------------------------------------------------


def decision_reply(recognised: bool, at: datetime, reason: str | None, t: Lang) -> Reply:
    """What a citizen is told when the commune decided on their self-assessment."""
    if recognised:
        return Reply(
            "text",
            t._(
                "Congratulations! On {date} your commune recognised you as a Learning Citizen "
                "(Công dân học tập)."
            ).format(date=t.date(at.astimezone(LOCAL_TZ))),
        )
    return Reply(
        "options",
        t._(
            "Your commune has returned your self-assessment with this note: “{reason}”. "
            "You can change your answers and submit again."
        ).format(reason=reason or ""),
        (Option(RESUME, t._("Continue where I stopped")),),
    )
