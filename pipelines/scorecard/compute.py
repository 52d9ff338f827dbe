"""Build the scorecard of every source from the Dagster instance and git history."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pipelines.scorecard import grading, metrics
from pipelines.scorecard.git_history import file_history
from pipelines.scorecard.history import (
    SourceHistory,
    StepOutcome,
    read_history,
    runs_since,
    step_outcomes,
)
from pipelines.scorecard.model import (
    DEFAULT_WINDOW_DAYS,
    DIMENSIONS,
    Integration,
    LoadPoint,
    SchemaChange,
    Scorecard,
    SourceCard,
    TableNumbers,
)
from pipelines.spec.registry import LoadedSource


def build_scorecard(
    instance: Any,
    sources: list[LoadedSource],
    window_days: float = DEFAULT_WINDOW_DAYS,
    now: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Scorecard:
    """The scorecard of ``sources`` over the last ``window_days`` before ``now``."""
    now = time.time() if now is None else now
    since = now - window_days * 86400
    load_steps = {f"{source.name}__load" for source in sources}
    steps = step_outcomes(instance, runs_since(instance, since), load_steps)
    cards = []
    for index, source in enumerate(sources, start=1):
        if progress is not None:
            progress(f"[{index}/{len(sources)}] {source.name}")
        cards.append(source_card(instance, source, since, now, steps))
    return Scorecard(generated_at=now, window_days=window_days, sources=cards)


def source_card(
    instance: Any,
    source: LoadedSource,
    since: float,
    now: float,
    steps: dict[str, list[StepOutcome]] | None = None,
) -> SourceCard:
    """One source's card: its numbers, dimension scores, total and grade."""
    git = file_history(source.path)
    history = read_history(
        instance, source, since, changed_at=git.changed_at, steps=steps, added_at=git.added_at
    )
    return card_from_history(source, history, git, now)


def card_from_history(
    source: LoadedSource, history: SourceHistory, git: Any, now: float
) -> SourceCard:
    """Compute the card from what was read (no I/O)."""
    spec = source.spec
    freshness = metrics.freshness(
        spec.table_names(),
        history.loads,
        history.earlier,
        spec.freshness_hours,
        history.since,
        now,
        history.first_load_at,
        _expected_since(spec.stage, git),
    )
    loads = metrics.volume(history.loads, history.earlier)
    quality = metrics.quality(history.evaluations)
    reliability = metrics.reliability(history.steps)
    changes = metrics.schema_changes(history.loads)
    integration = Integration(
        added_at=git.added_at,
        first_load_at=history.first_load_after_added_at
        if git.added_at is not None
        else history.first_load_at,
        promoted_at=git.promoted_at,
        changed_at=git.changed_at,
        first_load_after_change_at=history.first_load_after_change_at,
        note=git.note or ("" if history.first_load_at else "never loaded"),
    )
    tables = [
        _table_numbers(table, source, history, git, now, loads, changes)
        for table in spec.table_names()
    ]
    scores = _scores(freshness, loads, history, changes, quality, reliability)
    total = grading.weighted_total(scores)
    return SourceCard(
        name=source.name,
        stage=spec.stage,
        owner=spec.owner,
        freshness=freshness,
        quality=quality,
        reliability=reliability,
        integration=integration,
        loads=loads,
        runs=metrics.run_points(history.steps, history.evaluations),
        schema_changes=changes,
        tables=tables,
        scores=scores,
        total=total,
        grade=grading.letter(total),
        worst=grading.worst_dimension(scores),
    )


def _expected_since(stage: str, git: Any) -> float | None:
    """Since when a source that never loaded has been expected to: its promotion to
    production, for a production source, else the commit that added it."""
    if stage == "production" and git.promoted_at is not None:
        return git.promoted_at
    return git.added_at


def _table_numbers(
    table: str,
    source: LoadedSource,
    history: SourceHistory,
    git: Any,
    now: float,
    loads: list[LoadPoint],
    changes: list[SchemaChange],
) -> TableNumbers:
    freshness = metrics.freshness(
        [table],
        [m for m in history.loads if m.table == table],
        [m for m in history.earlier if m.table == table],
        source.spec.freshness_hours,
        history.since,
        now,
        history.first_load_at,
        _expected_since(source.spec.stage, git),
    )
    own = [p for p in loads if p.table == table]
    return TableNumbers(
        table=table,
        share_fresh=freshness.share_fresh,
        lag_hours=freshness.lag_hours,
        loads=len(own),
        last_rows=own[-1].rows if own else None,
        anomalies=sum(1 for p in own if p.anomaly),
        schema_changes=sum(1 for c in changes if c.table == table),
        quality=metrics.quality([e for e in history.evaluations if e.table == table]).score,
    )


def _scores(freshness, loads, history, changes, quality, reliability) -> dict[str, float | None]:
    scores: dict[str, float | None] = dict.fromkeys(DIMENSIONS)
    if freshness.share_fresh is not None:
        scores["freshness"] = 100 * freshness.share_fresh
    elif not history.loads:
        scores["freshness"] = 0.0  # never loaded, or no SLA and nothing in the window
    judged = metrics.judged_loads(loads)
    if judged:
        scores["volume"] = 100 * (1 - sum(1 for p in judged if p.anomaly) / len(judged))
    later = [m for m in history.loads if not m.schema_change.get("new_table")]
    if later:
        changed = {(c.table, c.at) for c in changes}
        scores["schema"] = 100 * (1 - len(changed) / len(later))
    scores["quality"] = quality.score
    if reliability.success_rate is not None:
        scores["reliability"] = 100 * reliability.success_rate
    return scores
