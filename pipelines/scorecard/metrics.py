"""The scorecard's numbers, computed from a `SourceHistory`: pure functions, no I/O.

The conventions follow Elementary and Monte Carlo (docs/scorecard.md explains each number):
- a load is a volume anomaly when its row count lies more than 3 standard deviations from the
  mean of the previous 14 loads of its table (and at least `MIN_TRAINING_LOADS` exist);
- a check evaluation scores 100 when it passes, 50 when a `warn` check fails, 0 when an
  `error` check fails.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from pipelines.scorecard.history import (
    TRAINING_LOADS,
    CheckEvaluation,
    Materialization,
    StepOutcome,
)
from pipelines.scorecard.model import (
    Freshness,
    LoadPoint,
    Quality,
    Reliability,
    RunPoint,
    SchemaChange,
)

Z_THRESHOLD = 3.0
MIN_TRAINING_LOADS = 5  # fewer earlier loads than this: too little history to call an anomaly
MIN_SPREAD_ROWS = 1.0  # the smallest standard deviation a history is given ...
MIN_SPREAD_SHARE = 0.01  # ... or this share of its mean, whichever is larger
PASS, WARN, FAIL = 100.0, 50.0, 0.0

# Which quality dimension each `expect:` measures.
CHECK_DIMENSIONS = {
    "not_null": "completeness",
    "unique": "uniqueness",
    "unique_combination": "uniqueness",
    "in_set": "validity",
    "match_regex": "validity",
    "not_match_regex": "validity",
    "between": "validity",
    "value_lengths_between": "validity",
    "references": "consistency",
    "row_count_between": "consistency",
}


def freshness(
    tables: list[str],
    loads: list[Materialization],
    earlier: list[Materialization],
    freshness_hours: float | None,
    since: float,
    now: float,
    first_load_at: float | None,
    added_at: float | None,
) -> Freshness:
    """Share of time every table was within ``freshness_hours``, the stalest table's lag now.

    Time counts from ``since`` (the window start) or from the source's first load, whichever
    is later: getting a source to its first load is the time to integrate, not staleness. A
    source never loaded has no share; it is stale since ``added_at`` (when it was committed,
    or promoted to production), if known. A table that never loaded, in a source that did, is
    stale since the source's first load.
    """
    times_by_table = {
        table: [m.at for m in earlier if m.table == table][-1:]
        + sorted(m.at for m in loads if m.table == table)
        for table in tables
    }
    newest = [times[-1] for times in times_by_table.values() if times]
    last_success = max(newest, default=None)
    lag = (now - min(newest)) / 3600 if newest and len(newest) == len(tables) else None
    if freshness_hours is None:
        return Freshness(None, None, lag, last_success, None)
    if first_load_at is None:
        stale = None if added_at is None else max(0.0, (now - added_at) / 3600 - freshness_hours)
        return Freshness(freshness_hours, None, None, None, stale)
    start = max(since, first_load_at)
    limit = freshness_hours * 3600
    share = _share_fresh_tables(list(times_by_table.values()), limit, start, now)
    # a table that never loaded has been stale since its source first loaded
    ages = [
        (now - (times[-1] if times else first_load_at)) / 3600 for times in times_by_table.values()
    ]
    stale = max(0.0, max(ages) - freshness_hours)
    return Freshness(freshness_hours, share, lag, last_success, stale)


def _share_fresh_tables(
    times_by_table: list[list[float]], limit: float, start: float, now: float
) -> float:
    """The share of [start, now] during which every table was fresh: a moment when any one
    table was stale counts as stale."""
    if now <= start:
        return 1.0 if all(times_by_table) else 0.0
    spans = sorted(
        span for times in times_by_table for span in _stale_spans(times, limit, start, now)
    )
    stale, covered_to = 0.0, start
    for span_from, span_to in spans:  # the length of the union of the spans
        span_from = max(span_from, covered_to)
        if span_to > span_from:
            stale += span_to - span_from
            covered_to = span_to
    return max(0.0, 1.0 - stale / (now - start))


def _stale_spans(
    times: list[float], limit: float, start: float, now: float
) -> list[tuple[float, float]]:
    """The spans of [start, now] when the newest of ``times`` was older than ``limit``."""
    spans = []
    edges = [*times, now]
    if not times or times[0] > start:
        spans.append((start, min(edges[0], now)))  # nothing loaded yet
    for loaded, following in zip(times, edges[1:], strict=False):
        stale_from, stale_to = max(loaded + limit, start), min(following, now)
        if stale_to > stale_from:
            spans.append((stale_from, stale_to))
    return spans


def volume(loads: list[Materialization], earlier: list[Materialization]) -> list[LoadPoint]:
    """Each load in the window, per table, flagged when its rows are more than `Z_THRESHOLD`
    standard deviations from its previous `TRAINING_LOADS` loads' mean.

    A history with less spread than one row, or 1% of its mean, is given that spread: after
    loads of exactly 100 rows, a load more than 3 rows away is an anomaly.
    """
    points = []
    history: dict[str, list[int]] = defaultdict(list)
    for load in earlier:
        if load.rows_loaded is not None:
            history[load.table].append(load.rows_loaded)
    for load in loads:
        if load.rows_loaded is None:
            continue
        previous = history[load.table][-TRAINING_LOADS:]
        z = _z_score(load.rows_loaded, previous)
        anomaly = z is not None and abs(z) > Z_THRESHOLD
        points.append(LoadPoint(load.table, load.at, load.rows_loaded, anomaly, z))
        history[load.table].append(load.rows_loaded)
    return points


def _z_score(value: int, previous: list[int]) -> float | None:
    if len(previous) < MIN_TRAINING_LOADS:
        return None
    mean = statistics.fmean(previous)
    # A history with (almost) no spread, such as an incremental source loading 0 rows a day,
    # would make any change infinitely many deviations: a floor of one row, or 1% of the mean
    # for large tables, keeps z finite and a 4-row change in a million rows unremarkable.
    floor = max(MIN_SPREAD_ROWS, MIN_SPREAD_SHARE * abs(mean))
    spread = max(statistics.stdev(previous), floor)
    return (value - mean) / spread


def judged_loads(points: list[LoadPoint]) -> list[LoadPoint]:
    """Loads with enough history to be judged for volume."""
    return [p for p in points if p.z_score is not None]


def schema_changes(loads: list[Materialization]) -> list[SchemaChange]:
    """Loads that added or retyped columns of a table that existed before."""
    changes = []
    for load in loads:
        change = load.schema_change
        if (
            change
            and not change.get("new_table")
            and (change.get("added") or change.get("changed"))
        ):
            changes.append(SchemaChange(load.table, load.at, load.schema_summary))
    return changes


def quality(evaluations: list[CheckEvaluation]) -> Quality:
    """Mean evaluation score per dimension and over all evaluations."""
    scores: dict[str, list[float]] = defaultdict(list)
    for evaluation in evaluations:
        dimension = CHECK_DIMENSIONS.get(evaluation.expect, "validity")
        scores[dimension].append(evaluation_score(evaluation))
    every = [s for values in scores.values() for s in values]
    return Quality(
        by_dimension={d: statistics.fmean(v) for d, v in scores.items()},
        evaluations={d: len(v) for d, v in scores.items()},
        score=statistics.fmean(every) if every else None,
    )


def evaluation_score(evaluation: CheckEvaluation) -> float:
    """Pass = 100, a failed `warn` check = 50, a failed `error` check = 0."""
    if evaluation.passed:
        return PASS
    return WARN if evaluation.severity == "warn" else FAIL


def reliability(steps: list[StepOutcome]) -> Reliability:
    """Success rate of the load steps, and the mean time from a first failure to the next
    success (a streak still failing is reported by ``failing_since``)."""
    if not steps:
        return Reliability(0, 0, None, None, None)
    succeeded = sum(1 for s in steps if s.succeeded)
    recoveries, failing_since = [], None
    for step in sorted(steps, key=lambda s: s.started):
        if not step.succeeded and failing_since is None:
            failing_since = step.ended
        elif step.succeeded and failing_since is not None:
            recoveries.append((step.ended - failing_since) / 3600)
            failing_since = None
    return Reliability(
        runs=len(steps),
        succeeded=succeeded,
        success_rate=succeeded / len(steps),
        mttr_hours=statistics.fmean(recoveries) if recoveries else None,
        failing_since=failing_since,
    )


def run_points(steps: list[StepOutcome], evaluations: list[CheckEvaluation]) -> list[RunPoint]:
    """One point per load step: start, duration, outcome and its checks' pass rate."""
    by_run: dict[str, list[CheckEvaluation]] = defaultdict(list)
    for evaluation in evaluations:
        by_run[evaluation.run_id].append(evaluation)
    points = []
    for step in steps:
        ran = by_run.get(step.run_id, [])
        rate = sum(1 for e in ran if e.passed) / len(ran) if ran else None
        points.append(
            RunPoint(step.run_id, step.started, step.ended - step.started, step.succeeded, rate)
        )
    return points
