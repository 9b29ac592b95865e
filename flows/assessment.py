"""Self-scoring (tự đánh giá): one question per indicator with progress and a Back option,
a review screen, then the result. Every answer is stored as it is given (SaveAnswer), so a
person can stop at any question and continue later."""

from __future__ import annotations

from dataclasses import replace

from flows.criteria import CriteriaSet, Group, pick
from flows.localtime import LOCAL_TZ
from flows.model import (
    AssessmentView,
    Event,
    Needs,
    Option,
    Profile,
    ResetAssessment,
    SaveAnswer,
    Snapshot,
    StartAssessment,
    SubmitAssessment,
    World,
)
from flows.navigation import resume
from flows.registration import draft_from_profile
from flows.reminders import FAMILY
from flows.scoring import Reason, ScoreResult, score
from flows.screens import MENU, QUESTION, REG_CONFIRM, REVIEW, REVIEW_PICK
from flows.turn import Turn, screen


def _person(turn: Turn) -> Profile:
    """The registered person (the menu and self-scoring are only reached registered)."""
    if turn.person is None:
        raise LookupError("a registered person's screen without a person")
    return turn.person


def _current(turn: Turn) -> AssessmentView:
    """This year's assessment (self-scoring screens are only valid with one)."""
    if turn.assessment is None:
        raise LookupError("a self-scoring screen without an assessment")
    return turn.assessment


def _registered(turn: Turn) -> bool:
    return turn.person is not None


def _scoring(turn: Turn) -> bool:
    return turn.person is not None and turn.assessment is not None


def _elsewhere(turn: Turn) -> None:
    """The screen cannot be shown (the person's data was deleted meanwhile, say): start
    from where they are now."""
    turn.state["screen"] = None
    resume(turn)


def _group(turn: Turn) -> Group:
    code = turn.assessment.group if turn.assessment else _person(turn).group
    group = turn.world.criteria.group(code)
    if group is None:  # the criteria file changed under a stored assessment
        group = turn.world.criteria.groups[0]
    return group


def answered(turn: Turn) -> int:
    return len(turn.assessment.answers) if turn.assessment else 0


# --- menu ------------------------------------------------------------------------------


def _on_menu(turn: Turn, option: str) -> None:
    if option == "assess":
        start_or_continue(turn)
    elif option == "result":
        show_result(turn)
        turn.go(MENU)
    elif option == "edit":
        turn.state["draft"] = draft_from_profile(_person(turn))
        turn.state["editing"] = True
        turn.go(REG_CONFIRM)
    elif option == FAMILY:  # typed ("3"); a tap is taken by flows.conversation.step
        from flows.family import open_menu  # (flows.family reads this module's texts)

        open_menu(turn)


def _menu_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    # A typed choice may be the learning family's.
    return Needs(family=event.kind == "text")


@screen(MENU, on_option=_on_menu, needs=_menu_needs, valid=_registered, on_invalid=_elsewhere)
def _ask_menu(turn: Turn) -> None:
    t = turn.t
    a = turn.assessment
    total = len(turn.world.criteria.indicators)
    if a is None:
        first = Option("assess", t._("Start self-scoring"))
    elif a.status == "in_progress":
        first = Option(
            "assess",
            t._("Continue self-scoring ({done}/{total} answered)").format(
                done=answered(turn), total=total
            ),
        )
    else:
        first = Option("result", t._("See my result"))
    turn.ask(
        t._("What would you like to do?"),
        [
            first,
            Option("edit", t._("Change my details")),
            Option(FAMILY, t._("Learning family")),
        ],
    )


def start_or_continue(turn: Turn) -> None:
    t = turn.t
    a = turn.assessment
    criteria = turn.world.criteria
    if a is not None and a.status == "submitted":
        show_result(turn)
        turn.go(MENU)
        return
    if a is None:
        group = _person(turn).group
        turn.effect(StartAssessment(turn.world.campaign_year, group, criteria.code))
        turn.assessment = AssessmentView(turn.world.campaign_year, group, "in_progress", {})
        turn.say(
            t._(
                "There are {n} questions. For each, choose the answer that best describes you "
                "over the past year. You can go back, and stop and continue at any time."
            ).format(n=len(criteria.indicators))
        )
    codes = [q.indicator for q in _group(turn).questions]
    unanswered = [i for i, code in enumerate(codes) if code not in _current(turn).answers]
    if not unanswered:
        turn.go(REVIEW)
        return
    turn.state["idx"] = unanswered[0]
    turn.state.pop("review_return", None)
    turn.go(QUESTION)


# --- one question ----------------------------------------------------------------------


def _on_answer(turn: Turn, option: str) -> None:
    group = _group(turn)
    idx = int(turn.state.get("idx", 0))
    if option == "back":
        turn.state.pop("review_return", None)
        if idx == 0:
            turn.go(MENU)
        else:
            turn.state["idx"] = idx - 1
            turn.go(QUESTION)
        return
    question = group.questions[idx]
    choice = int(option.removeprefix("a"))
    turn.effect(SaveAnswer(question.indicator, choice, question.options[choice].points))
    a = _current(turn)
    turn.assessment = replace(a, answers={**a.answers, question.indicator: choice})
    if turn.state.pop("review_return", False) or idx + 1 >= len(group.questions):
        turn.go(REVIEW)
    else:
        turn.state["idx"] = idx + 1
        turn.go(QUESTION)


@screen(QUESTION, on_option=_on_answer, valid=_scoring, on_invalid=_elsewhere)
def _ask_question(turn: Turn) -> None:
    t = turn.t
    group = _group(turn)
    idx = min(int(turn.state.get("idx", 0)), len(group.questions) - 1)
    question = group.questions[idx]
    indicator = turn.world.criteria.indicator(question.indicator)
    competency = next(c for c in turn.world.criteria.competencies if c.code == indicator.competency)
    chosen = turn.assessment.answers.get(question.indicator) if turn.assessment else None
    head = t._("Question {n}/{total}").format(n=idx + 1, total=len(group.questions))
    text = "\n\n".join(
        (
            f"{head} · {pick(competency.name, turn.lang)}",
            pick(question.text, turn.lang),
            "💡 " + pick(question.hint, turn.lang),
        )
    )
    options = [
        Option(f"a{i}", ("✓ " if i == chosen else "") + pick(o.text, turn.lang))
        for i, o in enumerate(question.options)
    ]
    options.append(Option("back", "⬅ " + t._("Back")))
    turn.ask(text, options)


# --- review and submit -----------------------------------------------------------------


def _current_result(turn: Turn) -> ScoreResult:
    a = _current(turn)
    return score(turn.world.criteria, a.group, a.answers, turn.snapshot.area)


def _on_review(turn: Turn, option: str) -> None:
    t = turn.t
    if option == "change":
        turn.go(REVIEW_PICK)
        return
    result = _current_result(turn)
    turn.effect(SubmitAssessment(result))
    turn.assessment = replace(
        _current(turn),
        status="submitted",
        submitted_at=turn.world.now,
        returned_at=None,
        return_reason=None,
    )
    turn.say(t._("Thank you! Your self-assessment is submitted."))
    turn.say(result_text(turn, result) + "\n\n" + standing_text(turn, result))
    turn.go(MENU)


@screen(REVIEW, on_option=_on_review, valid=_scoring, on_invalid=_elsewhere)
def _ask_review(turn: Turn) -> None:
    t = turn.t
    group = _group(turn)
    a = _current(turn)
    lines = []
    for q in group.questions:
        option = q.options[a.answers[q.indicator]]
        indicator = turn.world.criteria.indicator(q.indicator)
        lines.append(
            f"{q.indicator} {pick(indicator.name, turn.lang)}: "
            f"{option.points}/{indicator.max_points}"
            f" — {pick(option.text, turn.lang)}"
        )
    result = _current_result(turn)
    parts = [
        t._("Please check your answers before you submit:") + "\n" + "\n".join(lines),
        t._("Total: {total}/{max} points").format(total=result.total, max=result.max_total),
        verdict_text(turn, result, before_submitting=True),
        t._(
            "Once submitted, your answers cannot be changed: only your commune can return "
            "them to you."
        ),
    ]
    turn.ask(
        "\n\n".join(p for p in parts if p),
        [Option("submit", t._("Submit")), Option("change", t._("Change an answer"))],
    )


def _on_pick(turn: Turn, option: str) -> None:
    if option == "back":
        turn.go(REVIEW)
        return
    turn.state["idx"] = int(option.removeprefix("i"))
    turn.state["review_return"] = True
    turn.go(QUESTION)


@screen(REVIEW_PICK, on_option=_on_pick, valid=_scoring, on_invalid=_elsewhere)
def _ask_pick(turn: Turn) -> None:
    t = turn.t
    options = [
        Option(
            f"i{i}",
            f"{q.indicator} {pick(turn.world.criteria.indicator(q.indicator).name, turn.lang)}",
        )
        for i, q in enumerate(_group(turn).questions)
    ]
    options.append(Option("back", "⬅ " + t._("Back")))
    turn.ask(t._("Which answer do you want to change?"), options)


# --- restarting ------------------------------------------------------------------------


def restart(turn: Turn) -> None:
    """Clear this year's answers and begin at question 1 (only before submitting)."""
    t = turn.t
    a = _current(turn)
    turn.effect(ResetAssessment(a.group))
    turn.assessment = replace(a, answers={})
    turn.state["idx"] = 0
    turn.state.pop("review_return", None)
    turn.say(t._("Your answers are cleared. Let's start again."))
    turn.go(QUESTION)


# --- the result ------------------------------------------------------------------------


def explain(turn: Turn, reason: Reason, criteria: CriteriaSet | None = None) -> str:
    """One reason of a verdict in words (`criteria`: the set scored, the citizens' if
    None)."""
    t = turn.t
    if reason.kind == "total_ok":
        return t._("Total {points} points: reaches the {threshold} needed.").format(
            points=reason.points, threshold=reason.threshold
        )
    if reason.kind == "total_below":
        return t._("Total {points} points: below the {threshold} needed.").format(
            points=reason.points, threshold=reason.threshold
        )
    if reason.kind == "indicator_below":
        indicator = (criteria or turn.world.criteria).find_indicator(reason.indicator or "")
        return t._(
            "Indicator {code} {name} has {points} points, below the minimum of {threshold}."
        ).format(
            code=reason.indicator,
            name=pick(indicator.name, turn.lang) if indicator else "",
            points=reason.points,
            threshold=reason.threshold,
        )
    return t._("No indicator is below {threshold} points.").format(threshold=reason.threshold)


def verdict_text(turn: Turn, result: ScoreResult, before_submitting: bool = False) -> str:
    """Whether the answers reach the title and why (which indicator is short, which total
    applies): on the review screen before submitting, and in the result."""
    t = turn.t
    if result.title is None:
        return ""
    if result.title:
        head = (
            t._("With these answers you meet the conditions to be proposed for the title.")
            if before_submitting
            else t._("Your self-score meets the conditions to be proposed for the title.")
        )
        lines = ["✅ " + head]
    else:
        head = (
            t._("With these answers you do not meet the conditions for the title yet:")
            if before_submitting
            else t._("Your self-score does not meet the conditions for the title yet:")
        )
        lines = ["❌ " + head]
    met = ("total_ok", "indicators_ok")
    lines.extend(("  ✓ " if r.kind in met else "  ✗ ") + explain(turn, r) for r in result.reasons)
    rule = turn.world.criteria.title
    if turn.snapshot.area.difficult and rule is not None:
        lines.append(
            t._(
                "Your commune is a remote, especially difficult or ethnic-minority area, so "
                "{low} points are enough instead of {usual}."
            ).format(low=rule.total_difficult_area, usual=rule.total)
        )
    return "\n".join(lines)


def result_text(turn: Turn, result: ScoreResult) -> str:
    t = turn.t
    criteria = turn.world.criteria
    lines = [
        t._("Your self-assessment result for {year}: {total}/{max} points.").format(
            year=turn.assessment.year if turn.assessment else turn.world.campaign_year,
            total=result.total,
            max=result.max_total,
        )
    ]
    lines += competency_lines(turn, result, criteria)
    if verdict := verdict_text(turn, result):
        lines.append(verdict)
    if result.band is not None:
        lines.append(t._("Grade: {band}").format(band=pick(result.band.name, turn.lang)))
    lines += improve_lines(turn, result, criteria)
    return "\n".join(lines)


def competency_lines(turn: Turn, result: ScoreResult, criteria: CriteriaSet) -> list[str]:
    """Each competency (or criterion) of a result with its points: "• name: 30/40"."""
    return [
        f"• {pick(comp.name, turn.lang)}: {result.competencies[comp.code]}/{comp.max_points}"
        for comp in criteria.competencies
    ]


def improve_lines(turn: Turn, result: ScoreResult, criteria: CriteriaSet) -> list[str]:
    """The weakest indicators of a result with the suggestion for each (none: nothing)."""
    group = criteria.group(result.group)
    if not result.weakest or group is None:
        return []
    lines = ["", turn.t._("Where to improve first:")]
    for code in result.weakest:
        indicator = criteria.indicator(code)
        points = next(s.points for s in result.indicators if s.code == code)
        lines.append(
            f"• {code} {pick(indicator.name, turn.lang)} ({points}/{indicator.max_points}): "
            f"{pick(group.question(code).suggestion, turn.lang)}"
        )
    return lines


def standing_text(turn: Turn, result: ScoreResult | None = None, after_result: bool = True) -> str:
    """Where a submitted (or returned) self-assessment stands, and what to do next;
    `after_result`: said right after the result and its suggestions (else on its own)."""
    t = turn.t
    a = turn.assessment
    if a is None:
        return ""
    if a.status != "submitted":
        if a.returned_at is None:
            return ""
        return t._(
            "On {date} your commune returned your self-assessment with this note: "
            "“{reason}”. Change the answers you need to and submit again."
        ).format(date=t.date(a.returned_at.astimezone(LOCAL_TZ)), reason=a.return_reason or "")
    if a.recognised_at is not None:
        return "🎉 " + t._(
            "On {date} your commune recognised you as a Learning Citizen (Công dân học tập)."
        ).format(date=t.date(a.recognised_at.astimezone(LOCAL_TZ)))
    if result is None:
        result = _current_result(turn)
    if result.title is False and not after_result:
        return t._(
            "Your self-assessment is submitted and kept for your commune's records; it does "
            "not reach the title this year. Send /result to see your points and what to work "
            "on."
        )
    if result.title is False:
        return t._(
            "Your self-assessment is submitted and kept for your commune's records. Work on "
            "the indicators above during the year and score yourself again next year. If "
            "you made a mistake in your answers, ask the learning-promotion association of "
            "your commune to return your self-assessment to you."
        )
    return t._(
        "Waiting for your commune: the learning-promotion association of your commune "
        "reviews your self-assessment and decides on the title. You will be told here."
    )


def show_result(turn: Turn) -> None:
    """Tell the person their submitted result (for /result and the menu)."""
    t = turn.t
    a = turn.assessment
    if a is None:
        return
    if a.status != "submitted":
        if returned := standing_text(turn):
            turn.say(returned)
        return
    result = _current_result(turn)
    text = result_text(turn, result)
    if a.submitted_at is not None:
        text += "\n" + t._("Submitted at {when}.").format(when=t.datetime(a.submitted_at))
    turn.say(text + "\n\n" + standing_text(turn, result))
