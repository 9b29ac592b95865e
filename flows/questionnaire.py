"""What the questionnaires of learning units and learning families show alike: a question
with its competency, hint and answers (the one given ticked), the list to pick an answer to
change from, and the review's buttons. Each flow keeps its own state and words around
them (flows.unit_assessment, flows.family)."""

from __future__ import annotations

from collections.abc import Sequence

from flows.criteria import CriteriaSet, Question, pick
from flows.model import Option
from flows.turn import Turn


def question_parts(
    turn: Turn, criteria: CriteriaSet, question: Question, n: int, total: int
) -> list[str]:
    """ "Câu n/total · competency", the question and its hint, as paragraphs."""
    indicator = criteria.indicator(question.indicator)
    competency = next(c for c in criteria.competencies if c.code == indicator.competency)
    head = turn.t._("Question {n}/{total}").format(n=n, total=total)
    return [
        f"{head} · {pick(competency.name, turn.lang)}",
        pick(question.text, turn.lang),
        "💡 " + pick(question.hint, turn.lang),
    ]


def answer_options(turn: Turn, question: Question, chosen: int | None) -> list[Option]:
    """The answers ("a0", "a1"…; the one given ticked ✓) and Back."""
    options = [
        Option(f"a{i}", ("✓ " if i == chosen else "") + pick(o.text, turn.lang))
        for i, o in enumerate(question.options)
    ]
    options.append(Option("back", "⬅ " + turn.t._("Back")))
    return options


def pick_options(turn: Turn, criteria: CriteriaSet, questions: Sequence[Question]) -> list[Option]:
    """One button per question ("i0", "i1"…: its indicator's code and name) and Back."""
    options = [
        Option(f"i{i}", f"{q.indicator} {pick(criteria.indicator(q.indicator).name, turn.lang)}")
        for i, q in enumerate(questions)
    ]
    options.append(Option("back", "⬅ " + turn.t._("Back")))
    return options


def review_options(turn: Turn) -> list[Option]:
    t = turn.t
    return [
        Option("submit", t._("Submit")),
        Option("change", t._("Change an answer")),
        Option("later", t._("Later")),
    ]
