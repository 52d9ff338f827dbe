"""Dagster resources: the warehouse the assets write to and read from."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from dagster import ConfigurableResource, DagsterExecutionInterruptedError, Failure

from pipelines.runtime.warehouse import Warehouse
from pipelines.runtime.writer_lock import WarehouseLockTimeoutError
from pipelines.settings import wait_timeout, warehouse_setting

# DuckDB allows one writer process; every step touching the warehouse queues on this pool,
# which dagster.yaml limits to 1 (dagster#26848).
WAREHOUSE_POOL = "duckdb_warehouse"
# How long an interrupted step waits for dlt's load job threads before it keeps the lock instead.
JOB_THREAD_GRACE_SECONDS = 1.0
LOCK_KEPT = (
    "a load job was still writing when the run was interrupted; the warehouse stays locked "
    "until this process ends"
)


class DltLoaderResource(ConfigurableResource):
    """dagster-dlt's `DagsterDltResource`, imported only when a load runs.

    Importing dagster_dlt imports all of dlt (about a second); the code location loads without
    it, which keeps definitions fast with hundreds of sources.
    """

    def run(self, context: Any, **kwargs: Any) -> Any:
        """`DagsterDltResource.run` with the same arguments."""
        from dagster_dlt import DagsterDltResource

        return DagsterDltResource().run(context=context, **kwargs)


class WarehouseResource(ConfigurableResource):
    """The warehouse: a DuckDB file path or a PostgreSQL URL (`$SOURCEGATE_WAREHOUSE`)."""

    location: str = warehouse_setting()

    def get(self) -> Warehouse:
        """The warehouse as the pipelines package sees it."""
        return Warehouse.from_setting(self.location)

    @contextlib.contextmanager
    def writer_lock(self, context: Any, name: str) -> Iterator[Warehouse]:
        """Hold the warehouse's writer lock for this step, named as holder; report any wait.

        When Ctrl-C or SIGTERM stops the step while a dlt load job thread still writes, the
        lock is kept until the process ends rather than handed to the next writer.

        Raises:
            Failure: when another process keeps the lock past the wait timeout (not retried).
        """

        def on_wait(message: str) -> None:
            context.log.warning(message)
            print(f"{name}: {message}", file=sys.stderr, flush=True)  # the CLI hides Dagster logs

        warehouse = self.get()
        threads_before = set(threading.enumerate())
        try:
            with warehouse.writer_lock.held(
                f"{name} (run {context.run_id[:8]})", wait_timeout(), on_wait
            ) as lock:
                try:
                    yield warehouse
                except (KeyboardInterrupt, DagsterExecutionInterruptedError):
                    if still_running(threads_before, JOB_THREAD_GRACE_SECONDS):
                        context.log.warning(f"{name}: {LOCK_KEPT}")
                        lock.keep_until_exit()
                    raise
        except WarehouseLockTimeoutError as exc:
            raise Failure(description=f"{name}: {exc}", allow_retries=False) from None


def still_running(threads_before: set[threading.Thread], grace: float) -> bool:
    """Whether threads started since ``threads_before`` still run after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    for thread in set(threading.enumerate()) - threads_before:
        if not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    return any(t.is_alive() and not t.daemon for t in set(threading.enumerate()) - threads_before)
