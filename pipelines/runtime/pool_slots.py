"""Claim a run's warehouse pool slot before the run starts, waiting visibly and for a bounded time.

Dagster's in-process executor waits for a blocked pool in a loop that neither sleeps nor checks
for Ctrl-C or SIGTERM (`InstanceConcurrencyContext.interval_to_next_pending_claim_check` in
dagster 1.13 returns at most 0, so `sleep_til_ready` never sleeps). `sourcegate run` therefore
claims the slot itself, under the run id it then gives the run, through the storage API Dagster
uses (`claim_concurrency_slot`), and holds it for the whole run, step retries included. Its
instance claims pools per run (`pipelines.runtime.instance.cli_instance`), so Dagster does not claim
again per step. Daemon runs in the same instance claim the same slots per step, so the two
exclude each other.

While it waits, the claim loop says once who holds the slot, releases the slots of runs whose
process died, honours Ctrl-C and SIGTERM, and gives up after a timeout naming the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipelines.runtime.dead_runs import record_claimant, release_dead_runs, run_source
from pipelines.runtime.run_processes import current_process

POLL_SECONDS = 0.5
DEAD_RUN_CHECK_SECONDS = 5.0


class WarehouseBusyError(RuntimeError):
    """The slot stayed taken past the wait timeout; the message names the holder and the fix."""


@contextlib.contextmanager
def claimed_slot(
    instance: Any,
    pool: str,
    run_id: str,
    step_key: str,
    timeout: float,
    say: Callable[[str], None],
) -> Iterator[None]:
    """Hold ``pool``'s slot for the step ``step_key`` of the run ``run_id`` (not created yet).

    Everything the run holds is freed on exit, so an error before or during the run never
    leaves a slot behind.

    Raises:
        WarehouseBusyError: if no slot came free within ``timeout`` seconds.
    """
    storage = instance.event_log_storage
    limited = _pool_limit(storage, pool) is not None
    try:
        if limited:
            record_claimant(instance, run_id, current_process())
            _wait_for_slot(instance, pool, run_id, step_key, timeout, say)
        yield
    finally:
        if limited:
            storage.free_concurrency_slots_for_run(run_id)
            record_claimant(instance, run_id, None)


def _wait_for_slot(
    instance: Any, pool: str, run_id: str, step_key: str, timeout: float, say: Callable[[str], None]
) -> None:
    started = time.monotonic()
    next_dead_run_check = started
    announced = False
    while True:
        if time.monotonic() >= next_dead_run_check:
            for action in release_dead_runs(instance):
                say(action)
            next_dead_run_check = time.monotonic() + DEAD_RUN_CHECK_SECONDS
        if _claim(instance, pool, run_id, step_key):
            return
        holders = _holders(instance, pool, run_id)
        if not announced:
            say(f"waiting for {holders} to release the warehouse ...")
            announced = True
        waited = time.monotonic() - started
        if waited >= timeout:
            raise WarehouseBusyError(
                f"gave up after waiting {waited:.0f}s for the warehouse: {holders} still holds "
                "it. If that run is stuck, `sourcegate status` shows it and `sourcegate status "
                "--repair` releases it; otherwise try again later or raise --wait-timeout"
            )
        time.sleep(POLL_SECONDS)


def _claim(instance: Any, pool: str, run_id: str, step_key: str) -> bool:
    """One claim attempt; True only when the pool's slot row names this run.

    On SQLite, Dagster's claim selects a free slot and then updates it, and two processes can
    both be told they got it. CLI processes on this host therefore claim one at a time, and
    each checks that the slot is really its own.
    """
    storage = instance.event_log_storage
    with _host_claim_lock():
        if not storage.claim_concurrency_slot(pool, run_id, step_key).is_claimed:
            return False
        held = storage.get_concurrency_info(pool).claimed_slots
        return any(slot.run_id == run_id for slot in held)


@contextlib.contextmanager
def _host_claim_lock() -> Iterator[None]:
    path = Path(os.environ.get("DAGSTER_HOME") or ".") / ".sourcegate-claims.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _holders(instance: Any, pool: str, run_id: str) -> str:
    """Who holds the pool's slots, e.g. `run 1a2b3c4d (source crm_contacts)`."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    names = []
    for slot in info.claimed_slots:
        if slot.run_id != run_id:
            run = instance.get_run_by_id(slot.run_id)
            names.append(f"run {slot.run_id[:8]} (source {run_source(run)})")
    if not names:
        ahead = [s.run_id for s in info.pending_steps if s.run_id != run_id]
        return f"{len(ahead)} queued run(s)" if ahead else "another run"
    return ", ".join(names)


def _pool_limit(storage: Any, pool: str) -> int | None:
    """The pool's slot limit, initialised from the instance default as Dagster does; None: none.

    The CLI's instance claims per run (see `pipelines.runtime.instance.cli_instance`), so
    Dagster itself never initialises the pool's slots for CLI runs; this does, the way its step
    claims would.
    """
    if not storage.supports_global_concurrency_limits:
        return None
    default = storage.get_pool_config().default_pool_limit
    limit = {limit.name: limit for limit in storage.get_pool_limits()}.get(pool)
    if (limit is None and default is not None) or (
        limit is not None and limit.from_default and limit.limit != default
    ):
        storage.initialize_concurrency_limit_to_default(pool)
        limit = {limit.name: limit for limit in storage.get_pool_limits()}.get(pool)
    return None if limit is None else limit.limit
