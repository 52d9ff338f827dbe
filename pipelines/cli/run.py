"""`sourcegate run`: materialize sources one by one through Dagster and summarize the outcome."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.cli.messages import unknown_source_reason
from pipelines.cli.run_in_process import RunInterruptedError, run_in_process
from pipelines.cli.run_summary import SourceOutcome, TableOutcome, one_line, render_summary
from pipelines.governance.secrets import MissingSecretError, missing_secrets
from pipelines.runtime.dagster_metadata import metadata_value
from pipelines.runtime.pool_slots import WarehouseBusyError
from pipelines.runtime.warehouse import Warehouse, configured_warehouse
from pipelines.settings import (
    DEFAULT_PARALLEL,
    DEFAULT_WAIT_TIMEOUT,
    PARALLEL_ENV,
    WAIT_TIMEOUT_ENV,
    parallel_extracts,
    sources_dir,
    wait_timeout,
    whole_number_from_one,
)
from pipelines.spec.registry import LoadedSource, load_registry


@dataclass(frozen=True)
class RunSettings:
    """How `sourcegate run` waits for the warehouse and where it reports progress."""

    wait_timeout: float
    say: Callable[[str], None]


def register(commands: Any) -> None:
    """Add the `run` command to the CLI's subcommands."""
    parser = commands.add_parser("run", help="load sources through Dagster and run their checks")
    parser.add_argument("names", nargs="*", help="source names (default: every enabled source)")
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"give up waiting for a warehouse held by another run after this long "
        f"(default ${WAIT_TIMEOUT_ENV} or {DEFAULT_WAIT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--parallel",
        type=_at_least_one,
        default=None,
        metavar="N",
        help=f"extract up to N sources at once while one at a time loads into the warehouse; "
        f"1 runs each source start to end before the next (default ${PARALLEL_ENV} or "
        f"{DEFAULT_PARALLEL})",
    )
    parser.set_defaults(handler=command)


def _at_least_one(text: str) -> int:
    """argparse type of `--parallel`: a whole number, 1 or more."""
    try:
        return whole_number_from_one(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def command(args: argparse.Namespace) -> int:
    """Run the sources; Ctrl-C and SIGTERM end it with one line and exit code 130."""
    from pipelines.runtime.extract_ahead import extracts_linger
    from pipelines.runtime.interrupts import (
        exit_now,
        exit_now_if_threads_linger,
        terminate_as_interrupt,
    )

    if args.wait_timeout is not None:
        os.environ[WAIT_TIMEOUT_ENV] = str(args.wait_timeout)  # the steps' writer lock reads it
    try:
        parallel = args.parallel if args.parallel is not None else parallel_extracts()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with terminate_as_interrupt():
        try:
            code = run_sources(
                args.names,
                args.sources or sources_dir(),
                wait_timeout=wait_timeout(),
                parallel=parallel,
            )
            if extracts_linger():  # extracts whose runs never came (a busy warehouse)
                exit_now(code)
            return code
        except RunInterruptedError as exc:
            print(exc.explain(), file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted between loads: every load that finished is kept", file=sys.stderr)
    exit_now_if_threads_linger(130)
    return 130


def run_sources(
    names: list[str],
    sources: Path,
    out: Any = None,
    wait_timeout: float = 1800.0,
    parallel: int = 1,
) -> int:
    """Run the named (or all enabled) sources; return the process exit code.

    ``wait_timeout`` bounds how long each run waits for a warehouse slot held by another run.
    ``parallel`` sources are extracted at once, ahead of their runs (`runtime.extract_ahead`).
    """
    out = out or sys.stdout
    settings = RunSettings(wait_timeout, lambda text: print(text, file=out, flush=True))
    # The summary says what failed in one line; dlt's own error log would repeat it at length.
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
    warehouse = configured_warehouse()
    registry = load_registry(sources, reserved_names=warehouse.reserved_source_names())
    for error in registry.errors:
        print(f"skipped broken file {error}", file=out)
    chosen, unknown = _choose(registry.sources, names)
    for name in unknown:
        print(
            f"error: cannot run {name!r}: {unknown_source_reason(name, registry.errors)}", file=out
        )
    if unknown:
        return 2
    if not chosen:
        print("nothing to run: no enabled sources found", file=out)
        return 1 if registry.errors else 0

    from pipelines.runtime.extract_ahead import extracting_ahead
    from pipelines.runtime.instance import ensure_dagster_home

    ensure_dagster_home()
    outcomes: list[SourceOutcome] = []
    busy = ""
    runnable = [s for s in chosen if not missing_secrets(s.spec.model_dump(by_alias=True))]
    with extracting_ahead(runnable, warehouse, parallel) as extractor:
        for index, source in enumerate(chosen, start=1):
            prefix = f"[{index}/{len(chosen)}] {source.name}"
            if busy:
                outcome = SourceOutcome(source.name, "skipped", f"not run: {busy}")
            else:
                if extractor is not None:
                    extractor.before(source.name)
                outcome = _run_source(source, prefix, warehouse, settings)
                busy = "the warehouse stayed busy (see above)" if outcome.warehouse_busy else ""
            outcomes.append(outcome)
    enabled = [s for s in registry.sources if s.spec.enabled]
    mart = _run_marts(enabled, chosen, outcomes, warehouse, settings, out)
    if mart is not None:
        outcomes.append(mart)
    print("", file=out)
    print(render_summary(outcomes), file=out)
    failed = [o for o in outcomes if o.status == "failed" or o.blocking_failures]
    # a source asked for by name that could not run (a secret not set) is a failure; in a run
    # of every source, a skip is how a source waits for IT to set its secret
    failed += [o for o in outcomes if o.name in names and o.status == "skipped"]
    if registry.errors and not names:
        failed.append(None)
    return 1 if failed else 0


def _run_source(
    source: LoadedSource, prefix: str, warehouse: Warehouse, settings: RunSettings
) -> SourceOutcome:
    """Run one source, or skip it when a secret it needs is not set; print one line each."""
    missing = missing_secrets(source.spec.model_dump(by_alias=True))
    if missing:
        outcome = SourceOutcome(
            source.name, "skipped", f"skipped: {MissingSecretError(source.name, missing).hint}"
        )
        settings.say(f"{prefix}: {outcome.message}")
        return outcome
    settings.say(f"{prefix}: loading {', '.join(source.spec.table_names())} ...")
    try:
        outcome = _materialize([source], warehouse, settings)
    except WarehouseBusyError as exc:
        outcome = SourceOutcome(source.name, "failed", str(exc), warehouse_busy=True)
    settings.say(f"{prefix}: {one_line(outcome)}")
    for note in outcome.notes:
        settings.say(f"{prefix}: {note}")
    return outcome


def _choose(sources: list[LoadedSource], names: list[str]) -> tuple[list[LoadedSource], list[str]]:
    if not names:
        return _referenced_first([s for s in sources if s.spec.enabled]), []
    by_name = {s.name: s for s in sources}
    chosen = [by_name[n] for n in names if n in by_name]
    return _referenced_first(chosen), [n for n in names if n not in by_name]


def _referenced_first(sources: list[LoadedSource]) -> list[LoadedSource]:
    """``sources`` in their order, except that a source another one's `references` check
    points at loads before it (so the check reads this run's table, not a missing one)."""
    from pipelines.spec.checks import ReferencesCheck

    by_name = {s.name: s for s in sources}
    ordered: list[LoadedSource] = []
    seen: set[str] = set()

    def visit(source: LoadedSource) -> None:
        if source.name in seen:
            return  # placed already, or a cycle: the file order decides
        seen.add(source.name)
        for checks in source.spec.checks.values():
            for check in checks:
                if isinstance(check, ReferencesCheck):
                    target = by_name.get(check.target(source.name)[0])
                    if target is not None and target is not source:
                        visit(target)
        ordered.append(source)

    for source in sources:
        visit(source)
    return ordered


def _materialize(
    sources: list[LoadedSource],
    warehouse: Warehouse,
    settings: RunSettings,
    selection: list[Any] | None = None,
    label: str | None = None,
) -> SourceOutcome:
    """One Dagster run in the shared instance: a source's assets, or the given selection.

    Raises:
        RunInterruptedError: if Ctrl-C or SIGTERM stopped the run.
        WarehouseBusyError: if another run kept the warehouse past the wait timeout.
    """
    from dagster import AssetKey

    if selection is None:
        selection = [AssetKey([sources[0].name, t]) for t in sources[0].spec.table_names()]
    name = label or sources[0].name
    started = time.perf_counter()
    result = run_in_process(
        sources, warehouse, selection, name, settings.wait_timeout, settings.say
    )
    return _outcome(result, name, selection, time.perf_counter() - started)


def _outcome(result: Any, name: str, selection: list[Any], seconds: float) -> SourceOutcome:
    """Rows, checks and notes per table from a finished run's events."""
    tables = {key.path[-1]: TableOutcome(name, key.path[-1]) for key in selection}
    notes: list[str] = []
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        row = tables[event.asset_key.path[-1]]
        row.rows_loaded = metadata_value(metadata.get("rows_loaded"))
        row.row_count = metadata_value(metadata.get("dagster/row_count"))
        row.pii_warnings = metadata_value(metadata.get("pii_unhandled")) or []
        notes += [note for note in _recovery_notes(metadata) if note not in notes]
    for evaluation in result.get_asset_check_evaluations():
        row = tables[evaluation.asset_key.path[-1]]
        detail = _check_detail(evaluation.metadata)
        if detail and not evaluation.passed:
            row.check_errors[evaluation.check_name] = detail
        if evaluation.passed:
            row.checks_passed += 1
        elif evaluation.severity.value == "WARN":
            row.checks_warned.append(evaluation.check_name)
        else:
            row.checks_failed.append(evaluation.check_name)
    status, message = ("loaded", "") if result.success else ("failed", _failure_message(result))
    return SourceOutcome(name, status, message, seconds, list(tables.values()), notes=notes)


def _check_detail(metadata: Any) -> str:
    """Why a check failed, for the summary: its error, or how many rows (and which orphan
    keys, when they are plain ids) did not pass."""
    error = metadata_value(metadata.get("error"))
    if error:
        return error
    count = metadata_value(metadata.get("unexpected_count"))
    if count is None:
        return ""
    keys = metadata_value(metadata.get("orphan_keys")) or []
    example = f" (for example {', '.join(str(k) for k in keys)})" if keys else ""
    return f"{count:,} unexpected{example}"


def _recovery_notes(metadata: Any) -> list[str]:
    """What the load did with packages an earlier run left: finished or dropped."""
    notes = []
    finished = metadata_value(metadata.get("recovered_packages")) or []
    if finished:
        notes.append(
            f"also finished {len(finished)} load package(s) an interrupted run left "
            f"({', '.join(finished)})"
        )
    for package in metadata_value(metadata.get("dropped_packages")) or []:
        notes.append(
            f"dropped load package {package['load_id']}, which an earlier run left and which "
            f"cannot load: {package['reason']}"
        )
    return notes


def _run_marts(
    enabled: list[LoadedSource],
    chosen: list[LoadedSource],
    outcomes: list[SourceOutcome],
    warehouse: Warehouse,
    settings: RunSettings,
    out: Any,
) -> SourceOutcome | None:
    """Rebuild customer_profiles when this run ran a source it reads, unless a production
    source stops it.

    The mart reads every enabled source of the registry (``enabled``), not only this run's: it
    is built in a run of its own over all of them, and leaves out (with a warning) a table that
    is missing or unreadable, such as a pilot source's whose load failed. Production sources
    block it as Dagster's blocking checks do: a failed load or a failed error check in this
    run, or, for one this run did not load, a failed blocking check in its latest evaluation.
    """
    from assets.marts.customer_profiles import MART_KEY, mart_sources

    readers = mart_sources(enabled)
    ran = {o.name: o for o in outcomes}
    if not any(s.name in ran for s in readers):
        return None
    stages = {s.name: s.spec.stage for s in [*enabled, *chosen]}
    blocked_now = [
        o.name
        for o in outcomes
        if stages.get(o.name) == "production" and (o.status == "failed" or o.blocking_failures)
    ]
    loaded_here = {o.name for o in outcomes if o.status != "skipped"}
    blocked_before = _failed_blocking_checks(
        [s for s in readers if s.spec.stage == "production" and s.name not in loaded_here]
    )
    prefix = "[marts] customer_profiles"
    if blocked_now or blocked_before:
        reasons = []
        if blocked_now:
            reasons.append(f"{', '.join(blocked_now)} (failed load or blocking check)")
        if blocked_before:
            reasons.append(
                f"{', '.join(blocked_before)} (a blocking check failed when it last ran; "
                "run it again once its data is fixed)"
            )
        message = f"skipped: blocked by {'; '.join(reasons)}"
        print(f"{prefix}: {message}", file=out, flush=True)
        return SourceOutcome("marts", "skipped", message)
    print(f"{prefix}: building ...", file=out, flush=True)
    outcome = _materialize(enabled, warehouse, settings, selection=[MART_KEY], label="marts")
    print(f"{prefix}: {one_line(outcome)}", file=out, flush=True)
    return outcome


def _failed_blocking_checks(sources: list[LoadedSource]) -> list[str]:
    """Those of ``sources`` whose latest evaluation of a blocking check, in the shared Dagster
    instance, failed: what `all_deps_blocking_checks_passed` holds the mart back for."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    from pipelines.runtime.instance import cli_instance
    from quality.asset_checks import check_specs_for

    owners = {c.key: s.name for s in sources for c in check_specs_for(s) if c.blocking}
    if not owners:
        return []
    with cli_instance() as instance:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(owners))
    failed = AssetCheckExecutionRecordStatus.FAILED
    return sorted({owners[key] for key, record in latest.items() if record.status == failed})


def _failure_message(result: Any) -> str:
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error:
            return _explain_error_info(data.error)
    return "the run failed (see the Dagster UI for details)"


def _explain_error_info(error: Any) -> str:
    """Why a step raised, from the error Dagster kept (class names and texts, no exception):
    the first cause `failure_reasons` recognises, else the innermost cause's scrubbed text."""
    from pipelines.runtime.failure_reasons import explain_text
    from pipelines.runtime.value_errors import scrub_message

    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.cause or error.context
    for info in chain:
        if info.cls_name == "DagsterAssetCheckFailedError":
            return "a blocking check failed (listed below), so nothing downstream was updated"
        known = explain_text(info.cls_name or "", info.message or "")
        if known:
            return known
    innermost = chain[-1]
    # Dagster's text starts with the qualified class name: `dlt.x.Error: message`
    text = innermost.message.strip()
    head, _, rest = text.partition(": ")
    detail = scrub_message(rest if head.endswith(innermost.cls_name) else text)
    return f"{innermost.cls_name}: {detail}; the run's log in the Dagster UI has the traceback"
