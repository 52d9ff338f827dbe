"""Dagster resources: the warehouse the assets write to and read from."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource

from pipelines.warehouse import Warehouse, warehouse_setting

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
