"""A source's history as the Dagster instance keeps it, read through the instance's APIs:
materialization records, asset check executions and the step events of runs. No log parsing.

Every source loads in one step, `<source>__load`, whatever launched the run (`sourcegate run`,
a schedule, the UI), so its runs are found by that step key rather than by run tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipelines.runtime.dagster_metadata import metadata_value
from pipelines.spec.checks import named_checks
from pipelines.spec.registry import LoadedSource

PAGE = 500
TRAINING_LOADS = 14  # the volume check compares a load with up to this many loads before it


@dataclass(frozen=True)
class Materialization:
    """A successful load of one table: when, the rows it loaded, and its schema change."""

    table: str
    at: float
    rows_loaded: int | None
    schema_change: dict[str, Any]
    schema_summary: str


@dataclass(frozen=True)
class StepOutcome:
    """How one run's load step of the source ended (after its retries)."""

    run_id: str
    started: float
    ended: float
    succeeded: bool


@dataclass(frozen=True)
class CheckEvaluation:
    """One evaluation of one check: passed, or failed with its severity (``error``/``warn``)."""

    table: str
    check: str
    expect: str
    run_id: str
    at: float
    passed: bool
    severity: str


@dataclass
class SourceHistory:
    """What the instance holds about one source, from ``since`` (the window start) on.

    ``earlier`` holds, per table, up to `TRAINING_LOADS` loads before the window (the volume
    check of the window's first loads compares with them); ``first_load_at`` is the first load
    ever, ``first_load_after_added_at`` the first after the file was committed (a source is
    often tried before its pull request lands) and ``first_load_after_change_at`` the first
    after the file last changed.
    """

    name: str
    since: float
    loads: list[Materialization] = field(default_factory=list)
    earlier: list[Materialization] = field(default_factory=list)
    steps: list[StepOutcome] = field(default_factory=list)
    evaluations: list[CheckEvaluation] = field(default_factory=list)
    first_load_at: float | None = None
    first_load_after_change_at: float | None = None
    first_load_after_added_at: float | None = None


def read_history(
    instance: Any,
    source: LoadedSource,
    since: float,
    changed_at: float | None = None,
    steps: dict[str, list[StepOutcome]] | None = None,
    added_at: float | None = None,
) -> SourceHistory:
    """``source``'s loads, load steps and check evaluations since ``since``.

    ``steps`` are the window's step outcomes by step key (`step_outcomes`), read once for
    every source.
    """
    from dagster import AssetKey

    history = SourceHistory(source.name, since)
    for table in source.spec.table_names():
        key = AssetKey([source.name, table])
        history.loads += _materializations(instance, key, after=since)
        history.earlier += _materializations(instance, key, before=since, newest=TRAINING_LOADS)
        history.first_load_at = earliest(history.first_load_at, _first_at(instance, key))
        if changed_at is not None:
            history.first_load_after_change_at = earliest(
                history.first_load_after_change_at, _first_at(instance, key, after=changed_at)
            )
        if added_at is not None:
            history.first_load_after_added_at = earliest(
                history.first_load_after_added_at, _first_at(instance, key, after=added_at)
            )
    history.loads.sort(key=lambda m: m.at)
    history.earlier.sort(key=lambda m: m.at)
    if steps is None:
        steps = step_outcomes(instance, runs_since(instance, since), {f"{source.name}__load"})
    history.steps = list(steps.get(f"{source.name}__load", []))
    history.steps.sort(key=lambda s: s.started)
    history.evaluations = _evaluations(instance, source, since)
    return history


def runs_since(instance: Any, since: float) -> list[Any]:
    """Run records created since ``since`` that have finished (oldest first)."""
    from datetime import UTC, datetime

    from dagster import DagsterRunStatus, RunsFilter

    finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
    records = instance.get_run_records(
        filters=RunsFilter(statuses=finished, created_after=datetime.fromtimestamp(since, tz=UTC)),
        ascending=True,
    )
    return list(records)


def _materializations(
    instance: Any,
    key: Any,
    after: float | None = None,
    before: float | None = None,
    newest: int | None = None,
) -> list[Materialization]:
    from dagster import AssetRecordsFilter

    records_filter = AssetRecordsFilter(
        asset_key=key, after_timestamp=after, before_timestamp=before
    )
    if newest is not None:
        result = instance.fetch_materializations(records_filter, limit=newest)
        return [_materialization(key, record) for record in result.records]
    return [_materialization(key, record) for record in _all_records(instance, records_filter)]


def _all_records(instance: Any, records_filter: Any) -> Iterator[Any]:
    cursor = None
    while True:
        result = instance.fetch_materializations(
            records_filter, limit=PAGE, cursor=cursor, ascending=True
        )
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def _materialization(key: Any, record: Any) -> Materialization:
    metadata = record.asset_materialization.metadata
    rows = metadata_value(metadata.get("rows_loaded"))
    return Materialization(
        table=key.path[-1],
        at=record.timestamp,
        rows_loaded=int(rows) if rows is not None else None,
        schema_change=metadata_value(metadata.get("schema_changes")) or {},
        schema_summary=str(metadata_value(metadata.get("schema_change_summary")) or ""),
    )


def _first_at(instance: Any, key: Any, after: float | None = None) -> float | None:
    from dagster import AssetRecordsFilter

    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, after_timestamp=after), limit=1, ascending=True
    )
    return result.records[0].timestamp if result.records else None


def step_outcomes(
    instance: Any, runs: list[Any], step_keys: set[str] | None = None
) -> dict[str, list[StepOutcome]]:
    """How each of ``step_keys`` (default: every step) ended in ``runs``, by step key, oldest
    first. Only the event logs of runs planned to run one of them are read.

    - A step that started and never logged an end belonged to a run that died (marked failed
      later, for example by `sourcegate status --repair`): it failed when its run ended.
    - A failed run that never started a step it planned (killed while starting, or failed by
      run monitoring before its pod ran) failed that step too. A cancelled run counts only the
      steps it started.
    - Dagster's automatic run retries (`dagster/retry_number`) re-run a failed run: a run and
      its retries count once, as the last attempt ran. A manual re-execution counts alone.
    - A run of checks only (the UI's "Execute checks") loads nothing and is left out.
    """
    from dagster import DagsterEventType, DagsterRunStatus

    kinds = {
        DagsterEventType.STEP_START,
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.STEP_FAILURE,
        DagsterEventType.ASSET_MATERIALIZATION,
    }
    plans: dict[str | None, set[str] | None] = {}
    by_attempt: dict[tuple[str, str], StepOutcome] = {}  # (first attempt, step key) -> outcome
    for run in runs:
        dagster_run = run.dagster_run
        planned = _planned_steps(instance, dagster_run, plans)
        if step_keys is not None and planned is not None and not planned & step_keys:
            continue
        run_id = dagster_run.run_id
        started: dict[str, float] = {}
        ended: dict[str, tuple[float, bool]] = {}
        loaded: set[str] = set()
        for record in instance.get_records_for_run(run_id, of_type=kinds).records:
            entry = record.event_log_entry
            if step_keys is not None and entry.step_key not in step_keys:
                continue
            kind = entry.dagster_event.event_type
            if kind == DagsterEventType.STEP_START:
                started.setdefault(entry.step_key, entry.timestamp)
            elif kind == DagsterEventType.ASSET_MATERIALIZATION:
                loaded.add(entry.step_key)
            else:  # the last end wins: a retried step ends more than once
                succeeded = entry.dagster_event.event_type == DagsterEventType.STEP_SUCCESS
                ended[entry.step_key] = (entry.timestamp, succeeded)
        if dagster_run.status == DagsterRunStatus.FAILURE:
            for step_key in (planned or set()) - set(started):
                if step_keys is None or step_key in step_keys:
                    started[step_key] = _run_time(run, "start_time")
        retried = "dagster/retry_number" in dagster_run.tags
        first = (dagster_run.tags.get("dagster/root_run_id") if retried else None) or run_id
        for step_key, start in started.items():
            end, succeeded = ended.get(step_key, (_run_time(run, "end_time", start), False))
            if succeeded and step_key not in loaded:
                continue  # it ran checks only (the UI's "Execute checks"): no load
            by_attempt[(first, step_key)] = StepOutcome(run_id, start, end, succeeded)
    found: dict[str, list[StepOutcome]] = {}
    for (_, step_key), outcome in by_attempt.items():
        found.setdefault(step_key, []).append(outcome)
    for outcomes in found.values():
        outcomes.sort(key=lambda outcome: outcome.started)
    return found


def _planned_steps(
    instance: Any, dagster_run: Any, plans: dict[str | None, set[str] | None]
) -> set[str] | None:
    """The steps a run was to execute (a source's load step is `<source>__load`), or None when
    nothing says. Runs from schedules and re-executions leave `step_keys_to_execute` unset:
    their execution plan snapshot (read once per snapshot) lists the steps."""
    if dagster_run.step_keys_to_execute is not None:
        return set(dagster_run.step_keys_to_execute)
    snapshot_id = dagster_run.execution_plan_snapshot_id
    if snapshot_id not in plans:
        snapshot = instance.get_execution_plan_snapshot(snapshot_id) if snapshot_id else None
        plans[snapshot_id] = set(snapshot.step_keys_to_execute) if snapshot else None
    return plans[snapshot_id]


def _run_time(run: Any, field: str, default: float | None = None) -> float:
    """The run record's start or end time, else ``default``, else when it was created."""
    value = getattr(run, field, None)
    if value is not None:
        return value
    return default if default is not None else run.create_timestamp.timestamp()


def _evaluations(instance: Any, source: LoadedSource, since: float) -> list[CheckEvaluation]:
    """Check evaluations since ``since``; checks a failed load never reached are left out
    (the load's failure counts against reliability, not quality)."""
    from dagster import AssetCheckKey, AssetKey
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,  # no public API lists executions
    )

    found = []
    storage = instance.event_log_storage
    for table, checks in source.spec.checks.items():
        for name, check in named_checks(checks):
            key = AssetCheckKey(AssetKey([source.name, table]), name)
            cursor = None
            while True:
                records = storage.get_asset_check_execution_history(
                    key,
                    limit=PAGE,
                    cursor=cursor,
                    status={Status.SUCCEEDED, Status.FAILED},
                )
                fresh = [r for r in records if r.create_timestamp >= since]
                found += [_evaluation(table, name, check.expect, r) for r in fresh]
                if len(records) < PAGE or len(fresh) < len(records):
                    break  # newest first: an older record means the rest are older still
                cursor = records[-1].id
    return sorted(found, key=lambda e: e.at)


def _evaluation(table: str, name: str, expect: str, record: Any) -> CheckEvaluation:
    evaluation = record.event.dagster_event.event_specific_data
    severity = getattr(evaluation.severity, "value", "ERROR")
    return CheckEvaluation(
        table=table,
        check=name,
        expect=expect,
        run_id=record.run_id,
        at=record.event.timestamp,
        passed=bool(evaluation.passed),
        severity="warn" if severity == "WARN" else "error",
    )


def earliest(*times: float | None) -> float | None:
    """The earliest of the known ``times`` (None when none is known)."""
    known = [t for t in times if t is not None]
    return min(known) if known else None
