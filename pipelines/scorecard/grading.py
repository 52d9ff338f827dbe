"""How the dimension scores become one total and a letter: the weights and the grade bands,
in this one place (docs/scorecard.md quotes them).

A dimension with no data (no freshness SLA, no checks, too few loads to judge volume) is left
out and the other weights are scaled up, so a source is judged on what can be measured. A
source that never loaded scores 0 on freshness, SLA or not (as does one without an SLA and
with no load in the window): it delivers nothing, which is the worst an ingestion tool can do.
"""

from __future__ import annotations

WEIGHTS = {
    "freshness": 0.25,
    "quality": 0.30,
    "reliability": 0.25,
    "volume": 0.15,
    "schema": 0.05,
}
# The lowest total that earns each letter; below the last band: F.
GRADE_BANDS = (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0))
CALL_OUT_BELOW = "C"  # production sources graded below this are called out


def weighted_total(scores: dict[str, float | None]) -> float | None:
    """The weighted mean of the scores that are known (None when none is)."""
    known = {d: s for d, s in scores.items() if s is not None and d in WEIGHTS}
    weight = sum(WEIGHTS[d] for d in known)
    if not weight:
        return None
    return sum(WEIGHTS[d] * s for d, s in known.items()) / weight


def letter(total: float | None) -> str:
    """A-F for a total from 0 to 100; "-" when there is nothing to grade."""
    if total is None:
        return "-"
    shown = round(total, 1)  # graded as printed: 89.96 shows as 90.0, and is an A
    for grade, lowest in GRADE_BANDS:
        if shown >= lowest:
            return grade
    return "F"


def worst_dimension(scores: dict[str, float | None]) -> str | None:
    """The dimension with the lowest known score (the first in `WEIGHTS` order on a tie);
    None when every known score is 100: nothing pulls the grade down."""
    known = [(s, list(WEIGHTS).index(d), d) for d, s in scores.items() if s is not None]
    lowest = min(known, default=None)
    return lowest[2] if lowest is not None and lowest[0] < 100 else None
