"""`sourcegate status`: what holds the warehouse when something looks stuck, and `--repair`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from pipelines.runtime.dead_runs import RunState, release_dead_runs, run_source, unfinished_runs
from pipelines.runtime.warehouse import Warehouse, configured_warehouse
from pipelines.runtime.writer_lock import describe_holder
from pipelines.settings import sources_dir
from pipelines.spec.registry import load_registry


def register(commands: Any) -> None:
    """Add the `status` command to the CLI's subcommands."""
    parser = commands.add_parser(
        "status", help="runs in progress, warehouse slots and locks, pending loads"
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="mark runs whose process died as failed and free what they hold",
    )
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Show the status; exit 1 when a dead run is left unrepaired."""
    return show_status(args.sources or sources_dir(), repair=args.repair, out=sys.stdout)


def show_status(sources: Path, repair: bool, out: TextIO) -> int:
    """Print runs in progress, pool slots, the writer lock and pending loads.

    With ``repair``, first mark runs whose process died as failed and free their slots.
    Returns 1 when a dead run is left unrepaired, else 0.
    """
    from pipelines.runtime.instance import cli_instance, ensure_dagster_home

    ensure_dagster_home()
    warehouse = configured_warehouse()
    with cli_instance() as instance:
        if repair:
            actions = release_dead_runs(instance)
            for action in actions or ["nothing to repair: no run holds anything it should not"]:
                print(f"repair: {action}", file=out)
            print("", file=out)
        runs = unfinished_runs(instance)
        slots = _slot_lines(instance)
    print(f"warehouse: {warehouse}", file=out)
    _print_runs(runs, out)
    print("warehouse slots:", file=out)
    for line in slots or ["  no pool has a slot taken"]:
        print(line, file=out)
    holder = warehouse.writer_lock.holder()
    print(f"writer lock: {'held by ' + describe_holder(holder) if holder else 'free'}", file=out)
    _print_pending(warehouse, sources, out)
    return 1 if any(run.alive is False for run in runs) else 0


def _print_runs(runs: list[RunState], out: TextIO) -> None:
    if not runs:
        print("runs in progress: none", file=out)
        return
    print("runs in progress:", file=out)
    now = time.time()
    for run in runs:
        age = _duration(now - run.started) if run.started else "?"
        print(
            f"  {run.short_id}  {run.source:<24} {run.status:<10} for {age:<8} {_liveness(run)}",
            file=out,
        )


def _liveness(run: RunState) -> str:
    if run.process is None:
        return "process unknown"
    where = f"pid {run.process.pid}" + (f" on {run.process.host}" if run.process.host else "")
    if run.alive is None:
        return f"{where} (cannot check from this host)"
    if run.alive:
        return f"{where} (alive)"
    return f"{where} (process gone: `sourcegate status --repair` releases it)"


def _slot_lines(instance: Any) -> list[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    lines = []
    for pool, info in sorted(storage.get_concurrency_infos(storage.get_concurrency_keys()).items()):
        if not info.claimed_slots and not info.pending_steps:
            continue
        lines.append(f"  pool {pool} (limit {info.limit}):")
        for slot in info.claimed_slots:
            source = run_source(instance.get_run_by_id(slot.run_id))
            lines.append(f"    held by run {slot.run_id[:8]} ({source}), step {slot.step_key}")
        for step in info.pending_steps:
            if step.assigned_timestamp is None:
                source = run_source(instance.get_run_by_id(step.run_id))
                lines.append(f"    queued: run {step.run_id[:8]} ({source}), step {step.step_key}")
    return lines


def _print_pending(warehouse: Warehouse, sources: Path, out: TextIO) -> None:
    """Load packages a run extracted or normalized but did not finish, per source."""
    names = [source.name for source in load_registry(sources, deep=False).sources]
    found = {name: packages for name in names if (packages := pending_packages(warehouse, name))}
    if not found:
        print("pending dlt load packages: none", file=out)
        return
    print("pending dlt load packages (the next run of the source finishes them):", file=out)
    for name, packages in found.items():
        print(f"  {name}: {', '.join(packages)}", file=out)


def pending_packages(warehouse: Warehouse, name: str) -> list[str]:
    """`<load id> (extracted|normalized)` for each unfinished package of the source's pipeline."""
    from pipelines.runtime.build import PIPELINE_PREFIX

    pipelines_dir = warehouse.state_dir / "pipelines"
    if not (pipelines_dir / f"{PIPELINE_PREFIX}_{name}").is_dir():
        return []
    import dlt
    from dlt.pipeline.exceptions import CannotRestorePipelineException

    try:
        pipeline = dlt.attach(f"{PIPELINE_PREFIX}_{name}", pipelines_dir=str(pipelines_dir))
    except CannotRestorePipelineException:
        return []
    return [f"{load_id} (extracted)" for load_id in pipeline.list_extracted_load_packages()] + [
        f"{load_id} (normalized)" for load_id in pipeline.list_normalized_load_packages()
    ]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
