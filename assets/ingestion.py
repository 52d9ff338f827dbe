"""One Dagster multi-asset per source: specs from the YAML, dlt objects built only in the run."""

import traceback
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)

from assets.resources import WAREHOUSE_POOL, DltLoaderResource, WarehouseResource
from pipelines.failures import explain_load_failure, is_transient, redact, secret_values
from pipelines.load_recovery import finish_interrupted_load, http_settings
from pipelines.registry import LoadedSource
from pipelines.schema_changes import describe_changes, summarize, warehouse_columns
from pipelines.secrets import MissingSecretError
from pipelines.spec import SourceSpec
from pipelines.warehouse import Warehouse, repo_relative
from quality.asset_checks import check_specs_for


def owners_of(spec: SourceSpec) -> list[str]:
    """Dagster owners: the owner, then the steward if different."""
    return list(dict.fromkeys(o for o in (spec.owner, spec.steward) if o))


def asset_specs_for(source: LoadedSource, catalog: str) -> list[AssetSpec]:
    """One AssetSpec per table, built from the YAML alone (fast, no dlt objects)."""
    spec = source.spec
    spec_path = repo_relative(source.path)
    return [
        AssetSpec(
            key=AssetKey([spec.name, table]),
            group_name=spec.name,
            description=spec.description,
            owners=owners_of(spec),
            kinds={"dlt", "duckdb"},
            freshness_policy=FreshnessPolicy.time_window(
                fail_window=timedelta(hours=spec.freshness_hours)
            )
            if spec.freshness_hours
            else None,
            tags={"stage": spec.stage, "kind": spec.kind},
            metadata={
                "purpose": spec.purpose or "",
                "stage": spec.stage,
                "spec_file": spec_path,
                "steward": spec.steward or "",
                "freshness_hours": spec.freshness_hours or "",
                "dagster/table_name": f"{catalog}.{spec.name}.{table}",
            },
        )
        for table in spec.table_names()
    ]


def build_ingestion_asset(source: LoadedSource, catalog: str) -> AssetsDefinition:
    """The multi-asset that loads one source and runs its checks in the same step."""
    spec = source.spec

    @multi_asset(
        name=f"{spec.name}__load",
        specs=asset_specs_for(source, catalog),
        check_specs=check_specs_for(source),
        can_subset=True,
        pool=WAREHOUSE_POOL,
        retry_policy=RetryPolicy(
            max_retries=spec.retries.max_retries,
            delay=spec.retries.delay_seconds,
            backoff=Backoff.EXPONENTIAL,
        ),
    )
    def load(
        context: AssetExecutionContext, dlt: DltLoaderResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        wh = warehouse.get()
        # The pool serializes steps of one instance; the lock also covers separate instances.
        with wh.writer_lock():
            if context.selected_asset_keys:
                yield from _load_tables(context, dlt, spec, wh)
            if context.selected_asset_check_keys:
                from assets.check_step import run_selected_checks

                yield from run_selected_checks(context, source, warehouse)

    return load


def _load_tables(
    context: AssetExecutionContext, dlt: DltLoaderResource, spec: SourceSpec, wh: Warehouse
) -> Iterator[MaterializeResult]:
    from assets.translator import SourcegateTranslator
    from pipelines.builders import build_pipeline, build_source, files_read_by

    tables = spec.table_names()
    try:
        with http_settings(spec):
            dlt_source = build_source(spec, wh)
            pipeline = build_pipeline(spec, wh)
            finished = finish_interrupted_load(pipeline)
            if finished:
                context.log.warning(f"{spec.name}: finished a load an earlier run left: {finished}")
            context.log.info(f"{spec.name}: loading {', '.join(tables)} into {wh}")
            columns_before = warehouse_columns(pipeline, tables)
            loaded = list(
                dlt.run(
                    context=context,
                    dlt_source=dlt_source,
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=SourcegateTranslator(spec.name),
                    schema_contract=spec.schema_contract(),
                )
            )
    except MissingSecretError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    except Exception as exc:
        reason = explain_load_failure(exc, spec)
        # The full trace helps engineers, but only redacted: URLs and errors can carry secrets.
        context.log.error(redact(traceback.format_exc(), secret_values(spec)))
        # Retrying a contract violation or a bad token only repeats the failure.
        raise Failure(
            description=f"{spec.name}: load failed: {reason}", allow_retries=is_transient(exc)
        ) from None
    changes = describe_changes(columns_before, warehouse_columns(pipeline, tables))
    files_read = files_read_by(dlt_source)
    for event in loaded:
        table = event.asset_key.path[-1]
        metadata = dict(event.metadata or {})
        metadata["dagster/table_name"] = MetadataValue.text(wh.table_name(spec.name, table))
        metadata["dagster/row_count"] = MetadataValue.int(_row_count(pipeline, table))
        metadata.setdefault("rows_loaded", MetadataValue.int(0))
        metadata["schema_changes"] = MetadataValue.json(changes.get(table, {}))
        metadata["schema_change_summary"] = MetadataValue.text(summarize(changes.get(table, {})))
        if files_read is not None:
            metadata["files_read"] = MetadataValue.json(files_read)
        yield MaterializeResult(asset_key=event.asset_key, metadata=metadata)


def _row_count(pipeline: Any, table: str) -> int:
    with pipeline.sql_client() as client:
        qualified = client.make_qualified_table_name(table)
        with client.execute_query(f"select count(*) from {qualified}") as cursor:
            return int(cursor.fetchone()[0])
