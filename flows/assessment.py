"""Self-scoring (tự đánh giá): one question per indicator with progress and a Back option,
a review screen, then the result. Every answer is stored as it is given (SaveAnswer), so a
person can stop at any question and continue later."""

from __future__ import annotations

from dataclasses import replace

from flows.criteria import Group, pick
from flows.model import (
    AssessmentView,
    Option,
    ResetAssessment,
    SaveAnswer,
    StartAssessment,
    SubmitAssessment,
)
from flows.registration import draft_from_profile
from flows.scoring import Reason, ScoreResult, score
from flows.turn import Turn, screen


def _group(turn: Turn) -> Group:
    code = turn.assessment.group if turn.assessment else turn.person.group  # type: ignore[union-attr]
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
        turn.go("menu")
    elif option == "edit":
        turn.state["draft"] = draft_from_profile(turn.person)  # type: ignore[arg-type]
        turn.state["editing"] = True
        turn.go("reg.confirm")


@screen("menu", on_option=_on_menu)
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
    turn.ask(t._("What would you like to do?"), [first, Option("edit", t._("Change my details"))])


def start_or_continue(turn: Turn) -> None:
    t = turn.t
    a = turn.assessment
    criteria = turn.world.criteria
    if a is not None and a.status == "submitted":
        show_result(turn)
        turn.go("menu")
        return
    if a is None:
        group = turn.person.group  # type: ignore[union-attr]
        turn.effect(StartAssessment(turn.world.campaign_year, group, criteria.code))
        turn.assessment = AssessmentView(turn.world.campaign_year, group, "in_progress", {})
        turn.say(
            t._(
                "There are {n} questions. For each, choose the answer that best describes you "
                "over the past year. You can go back, and stop and continue at any time."
            ).format(n=len(criteria.indicators))
        )
    codes = [q.indicator for q in _group(turn).questions]
    unanswered = [i for i, code in enumerate(codes) if code not in turn.assessment.answers]
    if not unanswered:
        turn.go("review")
        return
    turn.state["idx"] = unanswered[0]
    turn.state.pop("review_return", None)
    turn.go("q")


# --- one question ----------------------------------------------------------------------


def _on_answer(turn: Turn, option: str) -> None:
    group = _group(turn)
    idx = int(turn.state.get("idx", 0))
    if option == "back":
        turn.state.pop("review_return", None)
        if idx == 0:
            turn.go("menu")
        else:
            turn.state["idx"] = idx - 1
            turn.go("q")
        return
    question = group.questions[idx]
    choice = int(option.removeprefix("a"))
    turn.effect(SaveAnswer(question.indicator, choice, question.options[choice].points))
    a = turn.assessment
    turn.assessment = replace(a, answers={**a.answers, question.indicator: choice})  # type: ignore[arg-type]
    if turn.state.pop("review_return", False) or idx + 1 >= len(group.questions):
        turn.go("review")
    else:
        turn.state["idx"] = idx + 1
        turn.go("q")


@screen("q", on_option=_on_answer)
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
    a = turn.assessment
    return score(turn.world.criteria, a.group, a.answers, turn.snapshot.area)  # type: ignore[union-attr]


def _on_review(turn: Turn, option: str) -> None:
    t = turn.t
    if option == "change":
        turn.go("review.pick")
        return
    result = _current_result(turn)
    turn.effect(SubmitAssessment(result))
    turn.assessment = replace(turn.assessment, status="submitted", submitted_at=turn.world.now)  # type: ignore[type-var]
    turn.say(t._("Thank you! Your self-assessment is submitted."))
    turn.say(result_text(turn, result))
    turn.go("menu")


@screen("review", on_option=_on_review)
def _ask_review(turn: Turn) -> None:
    t = turn.t
    group = _group(turn)
    a = turn.assessment
    lines = []
    for q in group.questions:
        option = q.options[a.answers[q.indicator]]  # type: ignore[union-attr]
        indicator = turn.world.criteria.indicator(q.indicator)
        lines.append(
            f"{q.indicator} {pick(indicator.name, turn.lang)}: "
            f"{option.points}/{indicator.max_points}"
            f" — {pick(option.text, turn.lang)}"
        )
    result = _current_result(turn)
    text = (
        t._("Please check your answers before you submit:")
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + t._("Total: {total}/{max} points").format(total=result.total, max=result.max_total)
    )
    turn.ask(text, [Option("submit", t._("Submit")), Option("change", t._("Change an answer"))])


def _on_pick(turn: Turn, option: str) -> None:
    if option == "back":
        turn.go("review")
        return
    turn.state["idx"] = int(option.removeprefix("i"))
    turn.state["review_return"] = True
    turn.go("q")


@screen("review.pick", on_option=_on_pick)
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
    a = turn.assessment
    turn.effect(ResetAssessment(a.group))  # type: ignore[union-attr]
    turn.assessment = replace(a, answers={})  # type: ignore[type-var]
    turn.state["idx"] = 0
    turn.state.pop("review_return", None)
    turn.say(t._("Your answers are cleared. Let's start again."))
    turn.go("q")


# --- the result ------------------------------------------------------------------------


def explain(turn: Turn, reason: Reason) -> str:
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
        return t._("Indicator {code} has {points} points, below {threshold}.").format(
            code=reason.indicator, points=reason.points, threshold=reason.threshold
        )
    return t._("No indicator is below {threshold} points.").format(threshold=reason.threshold)


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
    for comp in criteria.competencies:
        lines.append(
            f"• {pick(comp.name, turn.lang)}: {result.competencies[comp.code]}/{comp.max_points}"
        )
    if result.title is True:
        lines.append("✅ " + t._("You meet the conditions for the Learning Citizen title."))
    elif result.title is False:
        lines.append(
            "❌ " + t._("You do not meet the conditions for the Learning Citizen title yet.")
        )
    if result.band is not None:
        lines.append(t._("Grade: {band}").format(band=pick(result.band.name, turn.lang)))
    lines.extend("  - " + explain(turn, r) for r in result.reasons)
    group = criteria.group(result.group)
    if result.weakest and group is not None:
        lines.append("")
        lines.append(t._("Where to improve first:"))
        for code in result.weakest:
            question = group.question(code)
            indicator = criteria.indicator(code)
            points = next(s.points for s in result.indicators if s.code == code)
            lines.append(
                f"• {code} {pick(indicator.name, turn.lang)} ({points}/{indicator.max_points}): "
                f"{pick(question.suggestion, turn.lang)}"
            )
    if result.title is not None:
        lines.append("")
        lines.append(
            t._(
                "Your self-score is a proposal: the learning-promotion association of your "
                "commune reviews it and decides on the title."
            )
        )
    return "\n".join(lines)


def show_result(turn: Turn) -> None:
    """Tell the person their submitted result (for /result and the menu)."""
    t = turn.t
    a = turn.assessment
    if a is None or a.status != "submitted":
        return
    result = _current_result(turn)
    text = result_text(turn, result)
    if a.submitted_at is not None:
        text += "\n" + t._("Submitted at {when}.").format(when=t.datetime(a.submitted_at))
    turn.say(text)
