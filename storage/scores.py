"""How a self-assessment's result is kept (the `result` JSON of an assessment), whoever
submitted it: a citizen in chat, or commune staff from a paper form."""

from __future__ import annotations

from typing import Any

from flows.scoring import ScoreResult


def result_json(result: ScoreResult) -> dict[str, Any]:
    return {
        "competencies": dict(result.competencies),
        "indicators": {s.code: s.points for s in result.indicators},
        "required_total": result.required_total,
        "reasons": [
            {"kind": r.kind, "points": r.points, "threshold": r.threshold, "indicator": r.indicator}
            for r in result.reasons
        ],
        "weakest": list(result.weakest),
    }
