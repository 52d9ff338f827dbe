"""Dagster resources: the warehouse the assets write to and read from."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from dagster import ConfigurableResource, Failure

from pipelines.warehouse import (
    Warehouse,
    WarehouseLockTimeoutError,
    wait_timeout,
    warehouse_setting,
)

# DuckDB allows one writer process; every step touching the warehouse queues on this pool,
# which dagster.yaml limits to 1 (dagster#26848).
WAREHOUSE_POOL = "duckdb_warehouse"


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

        Raises:
            Failure: when another process keeps the lock past the wait timeout (not retried).
        """

        def on_wait(message: str) -> None:
            context.log.warning(message)
            print(f"{name}: {message}", file=sys.stderr, flush=True)  # the CLI hides Dagster logs

        warehouse = self.get()
        try:
            with warehouse.writer_lock(
                f"{name} (run {context.run_id[:8]})", wait_timeout(), on_wait
            ):
                yield warehouse
        except WarehouseLockTimeoutError as exc:
            raise Failure(description=f"{name}: {exc}", allow_retries=False) from None
