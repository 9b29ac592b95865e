"""The one place that turns answers into a result (kết quả tự đánh giá).

Everything that shows or counts a result (the citizen's result message, digests, exports)
calls `score` or reads what it stored; no other module re-implements a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flows.criteria import Band, CriteriaSet, Question


@dataclass(frozen=True)
class AreaFlags:
    """Facts about the person's commune that change the rules: remote, especially difficult
    or ethnic-minority areas (vùng sâu, vùng xa, vùng đặc biệt khó khăn, vùng đồng bào dân tộc
    thiểu số) use the lower title total."""

    difficult: bool = False


@dataclass(frozen=True)
class IndicatorScore:
    code: str
    competency: str
    points: int
    max_points: int


@dataclass(frozen=True)
class Reason:
    """Why the title was or was not reached, as data; `flows.texts.explain` puts it in words.

    kind: "total_ok" | "total_below" | "indicator_below" | "indicators_ok"
    """

    kind: str
    points: int
    threshold: int
    indicator: str | None = None


@dataclass(frozen=True)
class ScoreResult:
    criteria: str
    group: str
    total: int
    max_total: int
    competencies: Mapping[str, int]
    indicators: tuple[IndicatorScore, ...]
    title: bool | None  # None when the set has no title rule
    required_total: int | None
    reasons: tuple[Reason, ...]
    band: Band | None
    weakest: tuple[str, ...] = field(default=())


class ScoringError(ValueError):
    """The answers cannot be scored. `missing` lists unanswered indicators, if that is why."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


def reached(result: ScoreResult) -> bool:
    """Whether a result reaches what its criteria set asks: the title, or a grade band
    above the lowest (a learning unit's "Không đạt")."""
    if result.title is not None:
        return result.title
    return result.band is not None and result.band.min_total > 0


def counted_choice(question: Question, part: int, whole: int) -> int:
    """The option a counted question takes when `part` of `whole` count (a family's
    adults who reach the Learning Citizen title): the first whose share the percentage
    reaches; none counted of none is 0%."""
    percent = 100 * part / whole if whole > 0 else 0
    for index, option in enumerate(question.options):
        if option.share is not None and percent >= option.share:
            return index
    return len(question.options) - 1


def score(
    criteria: CriteriaSet,
    group: str,
    answers: Mapping[str, int],
    area: AreaFlags = AreaFlags(),
    weakest: int = 2,
) -> ScoreResult:
    """Score one assessment.

    `answers` maps indicator code → index of the chosen option in that group's question.
    Raises ScoringError for an unknown group, an answer to an indicator the group does not
    have, an option that does not exist, or unanswered indicators.
    """
    grp = criteria.group(group)
    if grp is None:
        raise ScoringError(f"'{group}' is not a group of criteria set {criteria.code}.")
    known = {q.indicator: q for q in grp.questions}
    strangers = sorted(set(answers) - set(known))
    if strangers:
        raise ScoringError(
            f"answers for {', '.join(strangers)} do not belong to group {group} of "
            f"{criteria.code}; its indicators are {', '.join(known)}."
        )
    missing = tuple(code for code in known if code not in answers)
    if missing:
        raise ScoringError(
            f"the assessment is incomplete: no answer for {', '.join(missing)}.", missing
        )

    scores: list[IndicatorScore] = []
    for indicator in criteria.indicators:
        question = known[indicator.code]
        choice = answers[indicator.code]
        if not 0 <= choice < len(question.options):
            raise ScoringError(
                f"indicator {indicator.code} has no option {choice + 1}; "
                f"it has {len(question.options)}."
            )
        points = question.options[choice].points
        scores.append(
            IndicatorScore(indicator.code, indicator.competency, points, indicator.max_points)
        )

    total = sum(s.points for s in scores)
    per_competency = {
        c.code: sum(s.points for s in scores if s.competency == c.code)
        for c in criteria.competencies
    }

    title: bool | None = None
    required: int | None = None
    reasons: list[Reason] = []
    rule = criteria.title
    if rule is not None:
        required = rule.total_difficult_area if area.difficult else rule.total
        reasons.append(Reason("total_ok" if total >= required else "total_below", total, required))
        low = [s for s in scores if s.points < rule.min_indicator]
        reasons.extend(Reason("indicator_below", s.points, rule.min_indicator, s.code) for s in low)
        if not low:
            reasons.append(
                Reason("indicators_ok", min(s.points for s in scores), rule.min_indicator)
            )
        title = total >= required and not low

    band = next((b for b in criteria.bands if total >= b.min_total), None)

    below_max = [s for s in scores if s.points < s.max_points]
    below_max.sort(key=lambda s: s.points / s.max_points)  # stable: ties keep criteria order
    return ScoreResult(
        criteria=criteria.code,
        group=group,
        total=total,
        max_total=criteria.max_total,
        competencies=per_competency,
        indicators=tuple(scores),
        title=title,
        required_total=required,
        reasons=tuple(reasons),
        band=band,
        weakest=tuple(s.code for s in below_max[:weakest]),
    )
