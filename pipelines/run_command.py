"""`sourcegate run`: materialize sources one by one through Dagster and summarize the outcome."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.registry import LoadedSource, load_registry
from pipelines.secrets import MissingSecretError, missing_secrets
from pipelines.warehouse import Warehouse, configured_warehouse

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class TableOutcome:
    """One row of the final summary table."""

    source: str
    table: str
    rows_loaded: int | None = None
    row_count: int | None = None
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)


@dataclass
class SourceOutcome:
    """How one source's run ended."""

    name: str
    status: str  # loaded | failed | skipped
    message: str = ""
    seconds: float = 0.0
    tables: list[TableOutcome] = field(default_factory=list)

    @property
    def blocking_failures(self) -> int:
        """Error-severity checks that failed."""
        return sum(len(t.checks_failed) for t in self.tables)


def run_sources(names: list[str], sources: Path, out: Any = None) -> int:
    """Run the named (or all enabled) sources; return the process exit code."""
    out = out or sys.stdout
    warehouse = configured_warehouse()
    registry = load_registry(sources, reserved_names=warehouse.reserved_source_names())
    for error in registry.errors:
        print(f"skipped broken file {error}", file=out)
    chosen, unknown = _choose(registry.sources, names)
    for name in unknown:
        broken = any(e.source_name == name for e in registry.errors)
        reason = "its file has errors (run `sourcegate validate`)" if broken else "no such source"
        print(f"error: cannot run {name!r}: {reason}", file=out)
    if unknown:
        return 2
    if not chosen:
        print("nothing to run: no enabled sources found", file=out)
        return 1 if registry.errors else 0

    from pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    outcomes = []
    total = len(chosen)
    for index, source in enumerate(chosen, start=1):
        prefix = f"[{index}/{total}] {source.name}"
        missing = missing_secrets(source.spec.model_dump(by_alias=True))
        if missing:
            hint = MissingSecretError(source.name, missing).hint
            outcome = SourceOutcome(source.name, "skipped", f"skipped: {hint}")
            print(f"{prefix}: {outcome.message}", file=out, flush=True)
        else:
            print(
                f"{prefix}: loading {', '.join(source.spec.table_names())} ...",
                file=out,
                flush=True,
            )
            outcome = _materialize([source], warehouse)
            print(f"{prefix}: {_one_line(outcome)}", file=out, flush=True)
        outcomes.append(outcome)
    mart = _run_marts(chosen, outcomes, warehouse, out)
    if mart is not None:
        outcomes.append(mart)
    print("", file=out)
    print(render_summary(outcomes), file=out)
    failed = [o for o in outcomes if o.status == "failed" or o.blocking_failures]
    if registry.errors and not names:
        failed.append(None)
    return 1 if failed else 0


def _choose(sources: list[LoadedSource], names: list[str]) -> tuple[list[LoadedSource], list[str]]:
    if not names:
        return [s for s in sources if s.spec.enabled], []
    by_name = {s.name: s for s in sources}
    return [by_name[n] for n in names if n in by_name], [n for n in names if n not in by_name]


def _materialize(
    sources: list[LoadedSource],
    warehouse: Warehouse,
    selection: list[Any] | None = None,
    label: str | None = None,
) -> SourceOutcome:
    """One Dagster run in the shared instance: a source's assets, or the given selection."""
    from dagster import AssetKey, DagsterInstance, materialize

    from assets.factory import definitions_for_sources

    logging.getLogger("dagster").setLevel(logging.ERROR)
    defs = definitions_for_sources(sources, warehouse)
    if selection is None:
        selection = [AssetKey([sources[0].name, t]) for t in sources[0].spec.table_names()]
    name = label or sources[0].name
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        result = materialize(
            list(defs.assets),
            selection=selection,
            instance=instance,
            resources=defs.resources,
            run_config=QUIET_LOGS,
            raise_on_error=False,
            tags={"sourcegate/source": name, "sourcegate/trigger": "cli"},
        )
    seconds = time.perf_counter() - started
    tables = {key.path[-1]: TableOutcome(name, key.path[-1]) for key in selection}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        row = tables[event.asset_key.path[-1]]
        row.rows_loaded = _value(metadata.get("rows_loaded"))
        row.row_count = _value(metadata.get("dagster/row_count"))
    for evaluation in result.get_asset_check_evaluations():
        row = tables[evaluation.asset_key.path[-1]]
        if evaluation.passed:
            row.checks_passed += 1
        elif evaluation.severity.value == "WARN":
            row.checks_warned.append(evaluation.check_name)
        else:
            row.checks_failed.append(evaluation.check_name)
    if result.success:
        return SourceOutcome(name, "loaded", seconds=seconds, tables=list(tables.values()))
    return SourceOutcome(
        name,
        "failed",
        _failure_message(result),
        seconds=seconds,
        tables=list(tables.values()),
    )


def _run_marts(
    chosen: list[LoadedSource], outcomes: list[SourceOutcome], warehouse: Warehouse, out: Any
) -> SourceOutcome | None:
    """Rebuild customer_profiles after its sources, unless a blocking check stopped one."""
    from assets.marts.customer_profiles import MART_KEY, REQUIRED_SOURCES

    by_name = {o.name: o for o in outcomes}
    if not all(name in by_name for name in REQUIRED_SOURCES):
        return None
    blocked = [
        o.name
        for o in outcomes
        if o.status == "failed" or (o.blocking_failures and _stage(chosen, o.name) == "production")
    ]
    prefix = "[marts] customer_profiles"
    if blocked:
        message = f"skipped: blocked by {', '.join(blocked)} (failed load or blocking check)"
        print(f"{prefix}: {message}", file=out, flush=True)
        return SourceOutcome("marts", "skipped", message)
    print(f"{prefix}: building ...", file=out, flush=True)
    outcome = _materialize(chosen, warehouse, selection=[MART_KEY], label="marts")
    print(f"{prefix}: {_one_line(outcome)}", file=out, flush=True)
    return outcome


def _stage(sources: list[LoadedSource], name: str) -> str:
    return next((s.spec.stage for s in sources if s.name == name), "pilot")


def _failure_message(result: Any) -> str:
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error:
            cause = data.error.cause or data.error
            return cause.message.strip().splitlines()[0]
    return "the run failed (see the Dagster UI for details)"


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def _one_line(outcome: SourceOutcome) -> str:
    if outcome.status == "failed":
        return f"FAILED after {outcome.seconds:.1f}s: {outcome.message}"
    loaded = [t.rows_loaded for t in outcome.tables if t.rows_loaded is not None]
    verb, rows = (
        ("loaded", sum(loaded))
        if loaded
        else ("built", sum(t.row_count or 0 for t in outcome.tables))
    )
    checks = sum(t.checks_passed for t in outcome.tables)
    failed = outcome.blocking_failures
    warned = sum(len(t.checks_warned) for t in outcome.tables)
    text = f"{verb} {rows:,} rows in {outcome.seconds:.1f}s; checks: {checks} passed"
    if failed:
        text += f", {failed} FAILED"
    if warned:
        text += f", {warned} warned"
    return text


def render_summary(outcomes: list[SourceOutcome]) -> str:
    """A plain-text table: source, table, rows loaded, rows in table, checks, status."""
    header = ("source", "table", "rows loaded", "rows in table", "checks passed/failed", "status")
    rows: list[tuple[str, ...]] = []
    for outcome in outcomes:
        if outcome.status == "skipped":
            rows.append((outcome.name, "-", "-", "-", "-", "skipped"))
            continue
        for table in outcome.tables:
            failed = len(table.checks_failed)
            total = table.checks_passed + failed + len(table.checks_warned)
            checks = f"{table.checks_passed}/{failed}" if total else "-"
            if table.checks_warned:
                checks += f" (+{len(table.checks_warned)} warn)"
            status = (
                "failed" if outcome.status == "failed" else ("checks failed" if failed else "ok")
            )
            rows.append(
                (
                    outcome.name,
                    table.table,
                    _fmt(table.rows_loaded),
                    _fmt(table.row_count),
                    checks,
                    status,
                )
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(header)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    problems = [o for o in outcomes if o.status != "loaded"] + [
        o
        for o in outcomes
        if o.status == "loaded" and (o.blocking_failures or any(t.checks_warned for t in o.tables))
    ]
    for outcome in problems:
        if outcome.status in ("failed", "skipped"):
            lines.append(f"{outcome.name}: {outcome.message.removeprefix(outcome.name + ': ')}")
        for table in outcome.tables:
            for name in table.checks_failed:
                lines.append(f"{outcome.name}.{table.table}: check {name} FAILED (error)")
            for name in table.checks_warned:
                lines.append(f"{outcome.name}.{table.table}: check {name} failed (warn)")
    return "\n".join(lines)


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
