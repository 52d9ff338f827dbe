"""Build the Dagster Definitions from the source registry."""

from __future__ import annotations

import logging
from pathlib import Path

from dagster import AssetSelection, DefaultScheduleStatus, Definitions, ScheduleDefinition

from assets.governance import build_scorecard_asset, scorecard_schedule
from assets.ingestion import build_ingestion_asset
from assets.invalid_sources import invalid_source_assets
from assets.marts.customer_profiles import build_customer_profiles
from assets.resources import DltLoaderResource, WarehouseResource
from assets.run_health import release_dead_runs_sensor
from pipelines.runtime.warehouse import Warehouse
from pipelines.settings import sources_dir, warehouse_setting
from pipelines.spec.registry import LoadedSource, Registry, load_registry

log = logging.getLogger("sourcegate")


def build_definitions(
    sources: Path | None = None, warehouse: str | Path | None = None
) -> Definitions:
    """Definitions for every valid source; broken files are reported and skipped, never fatal."""
    target = Warehouse.from_setting(warehouse or warehouse_setting())
    # Structural checks only: dlt's own REST config validation (and the dlt import it needs)
    # runs in `sourcegate validate`, on every PR, and when the source runs.
    registry = load_registry(
        sources or sources_dir(), reserved_names=target.reserved_source_names(), deep=False
    )
    for error in registry.errors:
        log.warning("sourcegate: skipped broken source file %s", error)
    return definitions_from_registry(registry, target)


def definitions_from_registry(registry: Registry, warehouse: Warehouse) -> Definitions:
    """Assets, checks and schedules for the valid sources; broken files as failing assets."""
    enabled = [s for s in registry.sources if s.spec.enabled]
    broken_specs, broken_checks = invalid_source_assets(registry.errors)
    return Definitions.merge(
        definitions_for_sources(enabled, warehouse),
        Definitions(
            assets=[*broken_specs, build_scorecard_asset(enabled)],
            asset_checks=broken_checks,
            sensors=[release_dead_runs_sensor],
            schedules=[scorecard_schedule()],
        ),
    )


def definitions_for_sources(
    enabled: list[LoadedSource], warehouse: Warehouse | str | Path
) -> Definitions:
    """Assets (with their checks), schedules and resources for ``enabled`` sources.

    The mart reads the sources given here: to load a few sources, build them alone, and build
    the mart's run over every enabled source (as `sourcegate run` does).
    """
    if not isinstance(warehouse, Warehouse):
        warehouse = Warehouse.from_setting(warehouse)
    assets = [build_ingestion_asset(source, warehouse.catalog) for source in enabled]
    mart = build_customer_profiles(enabled)
    if mart is not None:
        assets.append(mart)
    schedules = [
        ScheduleDefinition(
            name=f"{source.name}_schedule",
            target=AssetSelection.groups(source.name),
            cron_schedule=source.spec.schedule,
            execution_timezone=source.spec.schedule_timezone,
            tags={"dagster/max_retries": str(source.spec.retries.max_retries)},
            default_status=DefaultScheduleStatus.RUNNING
            if source.spec.stage == "production"
            else DefaultScheduleStatus.STOPPED,
        )
        for source in enabled
        if source.spec.schedule
    ]
    return Definitions(
        assets=assets,
        schedules=schedules,
        resources={
            "dlt": DltLoaderResource(),
            "warehouse": WarehouseResource(location=warehouse.url or str(warehouse.path)),
        },
    )
