"""Runs whose process died without finishing: find them, mark them failed, free their slots.

A run killed with SIGKILL (the OOM killer, a lost node, `kill -9`) never reports its end: it
stays STARTED and keeps its concurrency slot, and every later run waiting on that pool waits
forever. Dagster's own tools do the cleanup here: `report_run_failed` marks the run failed and
`free_concurrency_slots_for_run` releases its slots (what run monitoring does for run workers it
can health-check). This module only decides which runs are dead, from the process each run
records. The data such a run left behind is finished by `load_recovery` on the next load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pipelines.runtime.run_processes import PROCESS_TAG, RunProcess, pid_is_running, started_before

SOURCE_TAG = "sourcegate/source"
DEAD_RUN_REASON = "process died without finishing; slots released"
# `sourcegate run` claims its slot before Dagster creates the run (see pool_slots). Meanwhile
# the claiming process is recorded under this key prefix in the instance's key-value store, so
# a claim left by a process that died while waiting can be told from one still waiting.
CLAIMANT_KEY_PREFIX = "sourcegate/claimant/"
# A claim for an unknown run id with no live claimant recorded is left alone this long.
UNKNOWN_RUN_GRACE_SECONDS = 120


@dataclass(frozen=True)
class RunState:
    """An unfinished run and what is known about its process."""

    run_id: str
    source: str
    status: str
    started: float | None
    process: RunProcess | None
    alive: bool | None  # None: cannot tell from this host

    @property
    def short_id(self) -> str:
        """The first 8 characters of the run id, as the Dagster UI shows it."""
        return self.run_id[:8]


def unfinished_runs(instance: Any) -> list[RunState]:
    """Every run of the instance that has not finished, with its process and liveness."""
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]
    local_storage = _is_local_storage(instance)
    states = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=statuses)):
        run = record.dagster_run
        started = record.start_time or record.create_timestamp.timestamp()
        process, alive = _process_of(instance, run, local_storage)
        states.append(
            RunState(run.run_id, run_source(run), run.status.value, started, process, alive)
        )
    return states


def release_dead_runs(instance: Any) -> list[str]:
    """Mark dead runs failed and free every slot no live run holds; one line per action."""
    actions = []
    for state in unfinished_runs(instance):
        if state.alive is not False:
            continue
        run = instance.get_run_by_id(state.run_id)
        if run is None or run.is_finished:
            continue
        instance.report_run_failed(run, f"sourcegate: {DEAD_RUN_REASON}")
        instance.event_log_storage.free_concurrency_slots_for_run(state.run_id)
        pid = state.process.pid if state.process else "?"
        actions.append(
            f"run {state.short_id} ({state.source}) was marked failed: its process {pid} "
            "died without finishing; its warehouse slot was released"
        )
    actions += free_slots_of_ended_runs(instance)
    return actions


def free_slots_of_ended_runs(instance: Any) -> list[str]:
    """Free slots and queue places held by finished runs, or by run ids that never started."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    actions = []
    now = time.time()
    for pool, info in storage.get_concurrency_infos(list(storage.get_concurrency_keys())).items():
        enqueued = {step.run_id: step.enqueued_timestamp.timestamp() for step in info.pending_steps}
        holders = {slot.run_id for slot in info.claimed_slots} | set(enqueued)
        for run_id in sorted(holders):
            record = instance.get_run_record_by_id(run_id)
            run = record.dagster_run if record else None
            if run is None and _claimant_may_live(instance, run_id, now - enqueued.get(run_id, 0)):
                continue
            if run is not None and not _ended_long_ago(instance, record, now):
                continue
            storage.free_concurrency_slots_for_run(run_id)
            if run is None:
                actions.append(
                    f"dropped the {pool} claim of run {run_id[:8]}, whose process died before "
                    "the run started"
                )
            else:
                actions.append(
                    f"freed the {pool} slot still held by run {run_id[:8]} ({run_source(run)}, "
                    f"{run.status.value.lower()})"
                )
    return actions


def _ended_long_ago(instance: Any, record: Any, now: float) -> bool:
    """Finished for longer than run monitoring's grace, which covers step processes of a
    multiprocess run that outlive its worker (`free_slots_after_run_end_seconds`)."""
    if not record.dagster_run.is_finished:
        return False
    grace = instance.run_monitoring_settings.get("free_slots_after_run_end_seconds") or 10
    return now - (record.end_time or 0) >= grace


def record_claimant(instance: Any, run_id: str, process: RunProcess | None) -> None:
    """Record (or, with None, forget) the process claiming a slot for a run not created yet."""
    value = process.as_tag() if process is not None else ""
    instance.run_storage.set_cursor_values({CLAIMANT_KEY_PREFIX + run_id: value})


def _claimant_may_live(instance: Any, run_id: str, age: float) -> bool:
    """Whether the process that claimed for the unknown ``run_id`` may still be running.

    A claimant recorded elsewhere (another host or container) cannot be checked from here, so
    it is left alone, as runs of other hosts are.
    """
    key = CLAIMANT_KEY_PREFIX + run_id
    claimant = RunProcess.from_tag(instance.run_storage.get_cursor_values({key}).get(key, ""))
    if claimant is not None:
        return claimant.is_alive() if claimant.is_local else True
    return age < UNKNOWN_RUN_GRACE_SECONDS


def run_source(run: Any) -> str:
    """The source(s) a run loads: its `sourcegate/source` tag, else its selected asset groups."""
    if run is None:
        return "?"
    if run.tags.get(SOURCE_TAG):
        return run.tags[SOURCE_TAG]
    keys = run.asset_selection or set()
    names = sorted({key.path[0] for key in keys if key.path})
    return ", ".join(names) if names else run.job_name


def _process_of(
    instance: Any, run: Any, local_storage: bool
) -> tuple[RunProcess | None, bool | None]:
    """The run's process and whether it lives (None when this host cannot tell)."""
    tagged = RunProcess.from_tag(run.tags.get(PROCESS_TAG, ""))
    if tagged is not None:
        return tagged, tagged.is_alive() if tagged.is_local else None
    recorded = _recorded_pid(instance, run.run_id)
    if recorded is None or not local_storage:
        # No pid yet, or a shared instance whose pids may belong to other hosts.
        return None, None
    pid, logged_at = recorded
    process = RunProcess("", pid)
    if not pid_is_running(pid):
        return process, False
    # The worker logged its pid after it started: a process with that pid started later is
    # another process that reused the pid.
    before = started_before(pid, logged_at)
    return process, None if before is None else before


def _recorded_pid(instance: Any, run_id: str) -> tuple[int, float] | None:
    """The pid of the run's worker and when it was logged, from the first engine event with one."""
    from dagster import DagsterEventType

    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = getattr((data.metadata or {}).get("pid"), "value", None) if data else None
        if isinstance(pid, str) and pid.isdigit():
            return int(pid), entry.timestamp
    return None


def _is_local_storage(instance: Any) -> bool:
    """True for a SQLite instance: every process that used it ran on this host."""
    return "sqlite" in type(instance.run_storage).__name__.lower()
