"""A learning unit's self-assessment (tự đánh giá Đơn vị học tập), by its focal points.

A focal point (flows.units) opens their unit's menu with /unit or from a deadline
reminder's button, and answers the unit's criteria question by question, with the evidence
each needs; every answer is stored as it is given. The unit has one self-assessment a year,
shared by all its focal points: a second one continues where the first stopped and sees
who answered what. The result gives the grade band (TT 22/2020) or whether every target is
met (TT 24/2023), and a summary sheet for the unit's dossier. The commune or province
decides on it (flows.admin.units).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from flows.assessment import competency_lines, improve_lines
from flows.criteria import UNIT_SETS, CriteriaSet, Group, pick
from flows.localtime import LOCAL_TZ, local_day
from flows.model import (
    Event,
    Needs,
    Option,
    Reply,
    SaveUnitAnswer,
    SetFocalName,
    Snapshot,
    StartUnitAssessment,
    SubmitUnitAssessment,
    UnitAnswerView,
    UnitView,
    World,
)
from flows.navigation import leave
from flows.paper import check_name
from flows.places import Area
from flows.questionnaire import answer_options, pick_options, question_parts, review_options
from flows.registration import MAX_NAME
from flows.reminders import UNIT_ASSESS as UNIT_ASSESS
from flows.scoring import ScoreResult, reached, score
from flows.screens import UNIT_MENU, UNIT_PICK, UNIT_QUESTION, UNIT_REVIEW, UNIT_SCREENS, UNIT_WHO
from flows.turn import Turn, screen

GROUP = "unit"  # the one group of the units' criteria sets

# The months of a year in which units still assess the year before: the data window is
# 1 January to 31 December, and the dossier is filed in the first quarter after it (TT 22:
# "no later than Q1"; the letters' 15/01, 20/01 and 28/02).
FILING_MONTHS = 3


def unit_year(now: datetime) -> int:
    """The year a learning unit self-assesses at `now` (Vietnam time): the year before,
    until the end of March; then the current one."""
    return unit_year_of(local_day(now))


def unit_year_of(day: date) -> int:
    """The year a learning unit self-assesses on a Vietnamese calendar day."""
    return day.year - 1 if day.month <= FILING_MONTHS else day.year


def unit_criteria(area: Area) -> str:
    """The code of the criteria set of a unit registered with a code of `area`."""
    return UNIT_SETS["commune" if area.commune is not None else "province"]


def _unit(turn: Turn) -> UnitView:
    if turn.world.unit is None:  # (the screens are valid only with a unit)
        raise LookupError("a unit's screen without a unit")
    return turn.world.unit


def criteria_of(world: World, code: str) -> CriteriaSet:
    """A unit's criteria set by code (the one its self-assessment began with)."""
    found = world.unit_sets.get(code)
    if found is None:  # a set renamed since the assessment began: the province level's
        found = world.unit_sets[UNIT_SETS["province"]]
    return found


def _criteria(turn: Turn) -> CriteriaSet:
    return criteria_of(turn.world, _unit(turn).criteria)


def _group(turn: Turn) -> Group:
    criteria = _criteria(turn)
    return criteria.group(GROUP) or criteria.groups[0]


def _is_focal_point(turn: Turn) -> bool:
    return turn.world.unit is not None


def _not_focal_point(turn: Turn) -> None:
    turn.say(turn.t._("You are not registered as the focal point of a unit."))
    _leave(turn)


def _leave(turn: Turn) -> None:
    turn.state.pop("unit_idx", None)
    turn.state.pop("unit_review", None)
    turn.state.pop("unit_answers_seen", None)
    leave(turn, turn.state.pop("unit_back", None))


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(unit=True)


def _menu_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    # The summary sheet is made when it may be asked for: its button, or a typed choice.
    wanted = (event.kind == "option" and event.option == "sheet") or event.kind == "text"
    return Needs(unit=True, unit_sheet=snapshot.state.get("lang") if wanted else None)


def open_menu(turn: Turn) -> None:
    """Show the unit's menu, coming back to where the person was when they close it."""
    if turn.world.unit is None:
        _not_focal_point(turn)
        return
    if turn.screen not in UNIT_SCREENS:
        turn.state["unit_back"] = turn.screen
    turn.go(UNIT_MENU)


# --- the menu --------------------------------------------------------------------------


def _answered(view: UnitView, group: Group) -> int:
    return sum(1 for q in group.questions if q.indicator in view.answers)


def status_text(turn: Turn) -> str:
    """Where the unit's self-assessment of the year stands, in a sentence."""
    t, u = turn.t, _unit(turn)
    if u.recognised_at is not None:
        return "🎉 " + t._("Recognised as a learning unit on {date}.").format(
            date=t.date(u.recognised_at.astimezone(LOCAL_TZ))
        )
    if u.status == "submitted" and u.submitted_at is not None:
        when = t.datetime(u.submitted_at)
        if u.submitted_by:
            return t._("Submitted at {when} by {name}; waiting for the decision.").format(
                when=when, name=u.submitted_by
            )
        return t._("Submitted at {when}; waiting for the decision.").format(when=when)
    if u.returned_at is not None:
        return t._(
            "Returned on {date} with this note: “{reason}”. Change the answers you need to "
            "and submit again."
        ).format(date=t.date(u.returned_at.astimezone(LOCAL_TZ)), reason=u.return_reason or "")
    if u.status == "in_progress":
        group = _group(turn)
        return t._("{done} of {total} questions answered.").format(
            done=_answered(u, group), total=len(group.questions)
        )
    return t._("Not started yet.")


def _on_menu(turn: Turn, option: str) -> None:
    t = turn.t
    if option == "assess":
        start_or_continue(turn)
    elif option == "result":
        turn.say(result_text(turn, _current_result(turn)))
        turn.show()
    elif option == "sheet":
        sheet = turn.world.unit_sheet
        if sheet is None:  # (made whenever the sheet can be asked for)
            turn.again(t._("The summary sheet cannot be made now. Please try again later."))
            return
        name, blob = sheet
        turn.replies.append(Reply("file", t._("Summary sheet"), file_name=name, file_data=blob))
        turn.show()
    else:
        _leave(turn)


@screen(
    UNIT_MENU,
    on_option=_on_menu,
    needs=_menu_needs,
    valid=_is_focal_point,
    on_invalid=_not_focal_point,
)
def _ask_menu(turn: Turn) -> None:
    t, u = turn.t, _unit(turn)
    criteria = _criteria(turn)
    head = t._("Your unit: “{unit}” ({area}).").format(
        unit=u.name, area=u.area.name(turn.world.places, t)
    )
    about = t._("Self-assessment of {year} — {criteria}: {status}").format(
        year=u.year, criteria=pick(criteria.name, turn.lang), status=status_text(turn)
    )
    options = []
    if u.status == "submitted":
        options += [
            Option("result", t._("See the result")),
            Option("sheet", t._("Download the summary sheet")),
        ]
    elif u.status == "in_progress":
        group = _group(turn)
        options.append(
            Option(
                "assess",
                t._("Continue ({done}/{total} answered)").format(
                    done=_answered(u, group), total=len(group.questions)
                ),
            )
        )
    else:
        options.append(Option("assess", t._("Start the unit's self-assessment")))
    options.append(Option("close", t._("Close")))
    turn.ask(f"{head}\n{about}", options)


def start_or_continue(turn: Turn) -> None:
    t, u = turn.t, _unit(turn)
    if u.me is None:
        if turn.person is not None:  # registered as a citizen: their name is known
            _set_name(turn, turn.person.full_name)
        else:
            turn.go(UNIT_WHO)
            return
    if u.status is None:
        turn.effect(StartUnitAssessment(u.year, u.criteria))
        _update(turn, status="in_progress")
        turn.say(
            t._(
                "There are {n} questions about your unit in {year}. Each says what evidence "
                "it needs. Your answers are saved as you go: you or another focal point of "
                "the unit can stop and continue at any time."
            ).format(n=len(_group(turn).questions), year=u.year)
        )
    codes = [q.indicator for q in _group(turn).questions]
    unanswered = [i for i, code in enumerate(codes) if code not in _unit(turn).answers]
    turn.state.pop("unit_review", None)
    if not unanswered:
        _to_review(turn)
        return
    turn.state["unit_idx"] = unanswered[0]
    turn.go(UNIT_QUESTION)


def _update(turn: Turn, **changes: object) -> None:
    """This step's view of the unit, after its own changes."""
    turn.world = replace(turn.world, unit=replace(_unit(turn), **changes))  # type: ignore[arg-type]


def _set_name(turn: Turn, name: str) -> None:
    turn.effect(SetFocalName(name))
    _update(turn, me=name)


# --- the focal point's name ------------------------------------------------------------


def _on_who(turn: Turn, text: str) -> None:
    name = check_name(text)
    if name is None:
        turn.again(
            turn.t._(
                "Please type your full name in letters only, at most {max} characters, "
                "for example: Nguyễn Văn An."
            ).format(max=MAX_NAME)
        )
        return
    _set_name(turn, name)
    start_or_continue(turn)


def _on_who_option(turn: Turn, option: str) -> None:
    turn.go(UNIT_MENU)


@screen(
    UNIT_WHO,
    on_text=_on_who,
    on_option=_on_who_option,
    needs=_needs,
    valid=_is_focal_point,
    on_invalid=_not_focal_point,
)
def _ask_who(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "What is your full name? The other focal points of your unit see it beside the "
            "answers you give."
        ),
        [Option("back", "⬅ " + t._("Back"))],
    )


# --- one question ----------------------------------------------------------------------


def _on_answer(turn: Turn, option: str) -> None:
    group = _group(turn)
    idx = min(int(turn.state.get("unit_idx", 0)), len(group.questions) - 1)
    if option == "back":
        turn.state.pop("unit_review", None)
        if idx == 0:
            turn.go(UNIT_MENU)
        else:
            turn.state["unit_idx"] = idx - 1
            turn.go(UNIT_QUESTION)
        return
    u = _unit(turn)
    if u.status != "in_progress":  # submitted by another focal point meanwhile
        turn.say(turn.t._("Another focal point of your unit has submitted it meanwhile."))
        turn.go(UNIT_MENU)
        return
    question = group.questions[idx]
    choice = int(option.removeprefix("a"))
    points = question.options[choice].points
    turn.effect(SaveUnitAnswer(u.year, question.indicator, choice, points))
    _update(
        turn,
        answers={**u.answers, question.indicator: UnitAnswerView(choice, u.me, True)},
    )
    if turn.state.pop("unit_review", False) or idx + 1 >= len(group.questions):
        _to_review(turn)
    else:
        turn.state["unit_idx"] = idx + 1
        turn.go(UNIT_QUESTION)


def _assessing(turn: Turn) -> bool:
    return turn.world.unit is not None and turn.world.unit.status == "in_progress"


def _not_assessing(turn: Turn) -> None:
    """The unit's self-assessment is no longer being answered (submitted by another focal
    point, or the person is no longer a focal point): to the menu, which says where it is."""
    if turn.world.unit is None:
        _not_focal_point(turn)
        return
    if turn.world.unit.status == "submitted":
        turn.say(turn.t._("Your unit's self-assessment has been submitted meanwhile."))
    turn.go(UNIT_MENU)


def answered_by(turn: Turn, answer: UnitAnswerView) -> str:
    t = turn.t
    if answer.mine:
        return t._("you")
    return answer.by or t._("another focal point")


@screen(
    UNIT_QUESTION,
    on_option=_on_answer,
    needs=_needs,
    valid=_assessing,
    on_invalid=_not_assessing,
)
def _ask_question(turn: Turn) -> None:
    t = turn.t
    group = _group(turn)
    criteria = _criteria(turn)
    idx = min(int(turn.state.get("unit_idx", 0)), len(group.questions) - 1)
    question = group.questions[idx]
    given = _unit(turn).answers.get(question.indicator)
    parts = question_parts(turn, criteria, question, idx + 1, len(group.questions))
    if given is not None and 0 <= given.option < len(question.options):
        parts.append(
            t._("Answered by {who}: “{answer}”.").format(
                who=answered_by(turn, given),
                answer=pick(question.options[given.option].text, turn.lang),
            )
        )
    chosen = given.option if given is not None else None
    turn.ask("\n\n".join(parts), answer_options(turn, question, chosen))


# --- review and submit -----------------------------------------------------------------


def _current_result(turn: Turn) -> ScoreResult:
    u = _unit(turn)
    return score(_criteria(turn), _group(turn).code, {k: a.option for k, a in u.answers.items()})


def _complete(turn: Turn) -> bool:
    if not _assessing(turn):
        return False
    return all(q.indicator in _unit(turn).answers for q in _group(turn).questions)


def _incomplete(turn: Turn) -> None:
    if _assessing(turn):  # (an answer of the criteria set's new wording is missing)
        start_or_continue(turn)
    else:
        _not_assessing(turn)


def _answers_key(turn: Turn) -> str:
    """The unit's answers now, in a few characters: what a review screen showed."""
    return ",".join(f"{k}:{a.option}" for k, a in sorted(_unit(turn).answers.items()))


def _to_review(turn: Turn) -> None:
    turn.state["unit_answers_seen"] = _answers_key(turn)
    turn.go(UNIT_REVIEW)


def _on_review(turn: Turn, option: str) -> None:
    t = turn.t
    if option == "change":
        turn.go(UNIT_PICK)
        return
    if option == "later":
        turn.go(UNIT_MENU)
        return
    if turn.state.get("unit_answers_seen") != _answers_key(turn):
        # A colleague changed an answer since this review was shown: not submitted unseen.
        turn.state["unit_answers_seen"] = _answers_key(turn)
        turn.again(
            t._(
                "Another focal point of your unit changed an answer meanwhile. Please check "
                "the answers again before you submit:"
            ),
            kind="text",
        )
        return
    result = _current_result(turn)
    u = _unit(turn)
    turn.effect(SubmitUnitAssessment(u.year, result))
    _update(
        turn,
        status="submitted",
        submitted_at=turn.world.now,
        submitted_by=u.me,
        returned_at=None,
        return_reason=None,
    )
    turn.say(t._("Thank you! Your unit's self-assessment is submitted."))
    turn.say(result_text(turn, result))
    turn.go(UNIT_MENU)


@screen(
    UNIT_REVIEW,
    on_option=_on_review,
    needs=_needs,
    valid=_complete,
    on_invalid=_incomplete,
)
def _ask_review(turn: Turn) -> None:
    t = turn.t
    criteria = _criteria(turn)
    lines = []
    for q in _group(turn).questions:
        given = _unit(turn).answers[q.indicator]
        option = q.options[min(given.option, len(q.options) - 1)]  # (options cut since)
        indicator = criteria.indicator(q.indicator)
        lines.append(
            f"{q.indicator} {pick(indicator.name, turn.lang)}: "
            f"{option.points}/{indicator.max_points} — {pick(option.text, turn.lang)}"
            f" ({answered_by(turn, given)})"
        )
    result = _current_result(turn)
    parts = [
        t._("Please check the unit's answers before you submit:") + "\n" + "\n".join(lines),
        t._("Total: {total}/{max} points").format(total=result.total, max=result.max_total),
        verdict_text(turn, result),
        t._(
            "Once submitted, the answers cannot be changed: only {area}, which gave your "
            "unit its code, can return them."
        ).format(area=_unit(turn).area.name(turn.world.places, t)),
    ]
    turn.ask("\n\n".join(parts), review_options(turn))


def _on_pick(turn: Turn, option: str) -> None:
    if option == "back":
        _to_review(turn)
        return
    turn.state["unit_idx"] = int(option.removeprefix("i"))
    turn.state["unit_review"] = True
    turn.go(UNIT_QUESTION)


@screen(UNIT_PICK, on_option=_on_pick, needs=_needs, valid=_complete, on_invalid=_incomplete)
def _ask_pick(turn: Turn) -> None:
    options = pick_options(turn, _criteria(turn), _group(turn).questions)
    turn.ask(turn.t._("Which answer do you want to change?"), options)


# --- the result ------------------------------------------------------------------------


def verdict_text(turn: Turn, result: ScoreResult) -> str:
    """The grade band (TT 22), or whether every target is met (TT 24) and which is not."""
    t = turn.t
    if result.band is not None:
        band = pick(result.band.name, turn.lang)
        mark = "✅ " if reached(result) else "❌ "
        return mark + t._("Grade: {band}").format(band=band)
    if result.title:
        return "✅ " + t._("Every target is met: the unit can be proposed for recognition.")
    criteria = _criteria(turn)
    short = [
        f"  ✗ {s.code} {pick(criteria.indicator(s.code).name, turn.lang)}"
        for s in result.indicators
        if s.points < s.max_points
    ]
    return "\n".join(["❌ " + t._("Not every target is met yet; these are not fully met:"), *short])


def result_text(turn: Turn, result: ScoreResult) -> str:
    t, u = turn.t, _unit(turn)
    criteria = _criteria(turn)
    lines = [
        t._("Self-assessment of “{unit}” for {year}: {total}/{max} points.").format(
            unit=u.name, year=u.year, total=result.total, max=result.max_total
        )
    ]
    lines += competency_lines(turn, result, criteria)
    lines.append(verdict_text(turn, result))
    lines += improve_lines(turn, result, criteria)
    lines.append("")
    area = u.area.name(turn.world.places, t)
    if reached(result):
        lines.append(
            t._(
                "Attach the summary sheet (the button below) to the unit's dossier. {area} "
                "decides on the recognition; you will be told here."
            ).format(area=area)
        )
    else:
        lines.append(
            t._(
                "The unit does not meet the conditions to be proposed for recognition this "
                "year; its self-assessment is sent to {area} for its records. The summary "
                "sheet (the button below) keeps it for the unit's files."
            ).format(area=area)
        )
    return "\n".join(lines)
