"""One Dagster run, in this process, against the shared instance: the engine of `sourcegate run`.

The run's warehouse slot is claimed before the run starts (`pipelines.runtime.pool_slots`), so
a busy warehouse is reported and bounded instead of waited on silently. Ctrl-C and SIGTERM,
while waiting or while loading, end in `RunInterruptedError`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from pipelines.runtime.dead_runs import SOURCE_TAG
from pipelines.runtime.interrupts import INTERRUPTED_METADATA_KEY
from pipelines.runtime.pool_slots import claimed_slot
from pipelines.runtime.run_processes import PROCESS_TAG, current_process
from pipelines.runtime.warehouse import Warehouse
from pipelines.spec.registry import LoadedSource

# The summary reports failures in one line each; Dagster's console logger would add tracebacks.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
_JOB_NAME = "sourcegate_cli_run"
_INTERRUPTED = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")


class RunInterruptedError(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run, while it waited for the warehouse or while it loaded."""

    def __init__(self, source: str, run_id: str, waiting: bool) -> None:
        super().__init__(source, run_id, waiting)
        self.source = source
        self.run_id = run_id
        self.waiting = waiting

    def explain(self) -> str:
        """One line for the terminal: what stopped and what state it left."""
        if self.waiting:
            return f"interrupted while {self.source} waited for the warehouse; nothing was loaded"
        return (
            f"interrupted: the load of {self.source} (run {self.run_id[:8]}) stopped and was "
            "marked failed, and its warehouse slot is free. Nothing is half-written: the next "
            "run finishes or redoes that load"
        )


def run_in_process(
    sources: list[LoadedSource],
    warehouse: Warehouse,
    selection: list[Any],
    name: str,
    wait_timeout: float,
    say: Callable[[str], None],
) -> Any:
    """Materialize ``selection`` of ``sources``' assets; return Dagster's result.

    Raises:
        RunInterruptedError: if Ctrl-C or SIGTERM stopped the run.
        WarehouseBusyError: if another run kept the warehouse past ``wait_timeout``.
    """
    from dagster import Definitions, define_asset_job

    from assets.factory import definitions_for_sources
    from assets.resources import WAREHOUSE_POOL
    from pipelines.runtime.instance import cli_instance

    logging.getLogger("dagster").setLevel(logging.ERROR)
    defs = definitions_for_sources(sources, warehouse)
    job = Definitions(
        jobs=[define_asset_job(_JOB_NAME, selection=selection)],
        assets=list(defs.assets),
        resources=defs.resources,
    ).resolve_job_def(_JOB_NAME)
    (step_key,) = job.graph.node_names()  # one warehouse step per run
    run_id = str(uuid.uuid4())
    tags = {
        SOURCE_TAG: name,
        "sourcegate/trigger": "cli",
        PROCESS_TAG: current_process().as_tag(),
        # The daemon cannot re-execute an in-process job; step retries cover transient errors.
        "dagster/max_retries": "0",
    }
    result = None
    try:
        with (
            cli_instance() as instance,
            claimed_slot(instance, WAREHOUSE_POOL, run_id, step_key, wait_timeout, say),
        ):
            try:
                result = job.execute_in_process(
                    run_config=QUIET_LOGS,
                    instance=instance,
                    raise_on_error=False,
                    run_id=run_id,
                    tags=tags,
                )
            except KeyboardInterrupt:
                _fail_unstarted_run(instance, run_id)
                raise
    except KeyboardInterrupt:
        raise RunInterruptedError(name, run_id, waiting=result is None) from None
    if _was_interrupted(result):
        raise RunInterruptedError(name, run_id, waiting=False)
    return result


def _fail_unstarted_run(instance: Any, run_id: str) -> None:
    """Mark the run failed when Ctrl-C or SIGTERM came after Dagster created it but before
    its own signal handling began (it would stay NOT_STARTED until a repair)."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_failed(run, "sourcegate: interrupted by Ctrl-C or SIGTERM")


def _was_interrupted(result: Any) -> bool:
    """True when Ctrl-C or SIGTERM ended the run (Dagster turns both into a step failure)."""
    for event in result.get_step_failure_events():
        failure = event.step_failure_data.user_failure_data
        if failure is not None and INTERRUPTED_METADATA_KEY in (failure.metadata or {}):
            return True
        error = event.step_failure_data.error
        while error is not None:
            if error.cls_name in _INTERRUPTED:
                return True
            error = error.cause
    return False
