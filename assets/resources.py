"""Dagster resources: the warehouse the assets write to and read from."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from dagster import ConfigurableResource, DagsterExecutionInterruptedError, Failure
from pydantic import ConfigDict, Field, field_validator

from pipelines.runtime.warehouse import Warehouse
from pipelines.runtime.writer_lock import WarehouseLockTimeoutError
from pipelines.settings import WAREHOUSE_ENV, wait_timeout, warehouse_setting

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
    it, which keeps definitions fast with hundreds of sources. Loads run through
    `pipelines.runtime.load` (which checks PII between extract and normalize); dagster-dlt
    describes what they loaded.
    """

    def metadata(self, context: Any, resource: Any, load_info: Any, pipeline: Any) -> Any:
        """`DagsterDltResource.extract_resource_metadata`: rows, jobs and the column schema."""
        from dagster_dlt import DagsterDltResource

        describe = DagsterDltResource().extract_resource_metadata
        return describe(context, resource, load_info, pipeline)


class WarehouseResource(ConfigurableResource):
    """The warehouse: a DuckDB file path, or `$SOURCEGATE_WAREHOUSE` read when the run starts.

    A server URL holds a password, and a resource's config is part of the repository snapshot
    that Dagster's UI receives. So a URL is never kept: it must be the one in the environment,
    and the resource keeps an empty `location` instead, read from the environment at run time.
    """

    model_config = ConfigDict(hide_input_in_errors=True)  # an error must not echo a URL

    location: str = Field(
        default="",
        description=f"A DuckDB file; empty: ${WAREHOUSE_ENV}, read when the run starts.",
    )

    @field_validator("location")
    @classmethod
    def _no_url_in_config(cls, value: str) -> str:
        if value and Warehouse.from_setting(value).url is None:
            return value
        if value and Warehouse.from_setting(value) != Warehouse.from_setting(warehouse_setting()):
            raise ValueError(
                f"a warehouse URL is read from {WAREHOUSE_ENV} when the run starts, never kept "
                f"in Dagster's config; set {WAREHOUSE_ENV} to it"
            )
        return ""

    def get(self) -> Warehouse:
        """The warehouse as the pipelines package sees it."""
        return Warehouse.from_setting(self.location or warehouse_setting())

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
