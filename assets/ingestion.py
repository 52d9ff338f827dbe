"""One Dagster multi-asset per source: specs from the YAML, dlt objects built only in the run."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    DagsterExecutionInterruptedError,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)

from assets.resources import WAREHOUSE_POOL, DltLoaderResource, WarehouseResource
from pipelines.governance.schema_changes import describe_changes, summarize, warehouse_columns
from pipelines.governance.secrets import MissingSecretError
from pipelines.kinds import kind_of
from pipelines.runtime.failed_packages import abort_failed_packages, describe_drop
from pipelines.runtime.failures import (
    explain_load_failure,
    explains_itself,
    is_interrupt,
    is_transient,
    loggable_traceback,
)
from pipelines.runtime.interrupts import INTERRUPTED_METADATA_KEY
from pipelines.runtime.warehouse import Warehouse
from pipelines.settings import repo_relative
from pipelines.spec.models import SourceSpec
from pipelines.spec.registry import LoadedSource
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
        try:
            # The pool serializes steps of one instance; the lock also covers other instances.
            with warehouse.writer_lock(context, spec.name) as wh:
                if context.selected_asset_keys:
                    yield from _load_tables(context, dlt, spec, wh)
                if context.selected_asset_check_keys:
                    from assets.check_step import run_selected_checks

                    yield from run_selected_checks(context, source, warehouse)
        except (KeyboardInterrupt, DagsterExecutionInterruptedError):
            # Dagster retries interrupted steps under a retry policy; Ctrl-C or SIGTERM must stop
            # the load instead. Whatever it left pending is finished by the next run.
            raise Failure(
                description=f"{spec.name}: interrupted by Ctrl-C or SIGTERM; the next run "
                "finishes or redoes this load",
                allow_retries=False,
                metadata={INTERRUPTED_METADATA_KEY: True},
            ) from None

    return load


def _load_tables(
    context: AssetExecutionContext, dlt: DltLoaderResource, spec: SourceSpec, wh: Warehouse
) -> Iterator[MaterializeResult]:
    from pipelines.runtime.build import build_pipeline, build_source, pii_guard
    from pipelines.runtime.extract_ahead import take_extracted_ahead
    from pipelines.runtime.load import forget_trace, load_source, restore_for_load
    from pipelines.runtime.load_recovery import finish_interrupted_load

    tables = spec.table_names()
    pipeline = None
    try:
        with kind_of(spec).run_settings(spec):
            dlt_source = build_source(spec, wh)
            pipeline = build_pipeline(spec, wh)
            recovery = finish_interrupted_load(pipeline, spec)
            if recovery.finished:
                context.log.warning(
                    f"{spec.name}: finished a load an earlier run left: {recovery.finished}"
                )
            for package in recovery.dropped:
                context.log.warning(
                    f"{spec.name}: dropped load package {package.load_id} an earlier run left, "
                    f"because it cannot load ({package.reason}); extracting fresh data"
                )
            context.log.info(f"{spec.name}: loading {', '.join(tables)} into {wh}")
            columns_before = warehouse_columns(pipeline, tables)
            selected = _selected_resources(context, spec, dlt_source)
            # a package `sourcegate run --parallel` extracted ahead holds every table
            ahead = take_extracted_ahead(spec.name)
            pipeline, adopted = restore_for_load(pipeline, None if context.is_subset else ahead)
            if adopted:
                context.log.info(f"{spec.name}: extracted ahead of this run, in parallel")
                dlt_source = selected = ahead.source
            outcome = load_source(
                pipeline, selected, spec, pii_guard(dlt_source), ahead if adopted else None
            )
            for warning in outcome.pii.warnings(spec.stage):
                context.log.warning(f"{spec.name}: {warning}")
    except MissingSecretError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    except Exception as exc:
        if is_interrupt(exc):
            # dlt wraps Ctrl-C or SIGTERM during normalize or load; the package is kept for the
            # next run to finish, never dropped.
            raise KeyboardInterrupt from None
        reason = explain_load_failure(exc, spec)
        # The full trace helps engineers, but its messages can quote secrets, response bodies
        # and rows: every frame is kept, every message scrubbed.
        context.log.error(loggable_traceback(exc, spec))
        transient = is_transient(exc)
        if pipeline is not None:
            forget_trace(pipeline)
        if not transient and pipeline is not None:
            reason += _drop_failed_load(context, spec, pipeline, exc)
        # Retrying a contract violation or a bad token only repeats the failure.
        raise Failure(
            description=f"{spec.name}: load failed: {reason}", allow_retries=transient
        ) from None
    changes = describe_changes(columns_before, warehouse_columns(pipeline, tables))
    kind_metadata = kind_of(spec).run_metadata(dlt_source)
    dropped = [package.as_metadata() for package in recovery.dropped]
    for resource in selected.selected_resources.values():
        table = resource.table_name
        metadata = dict(dlt.metadata(context, resource, outcome.load_info, pipeline))
        metadata["dagster/table_name"] = MetadataValue.text(wh.table_name(spec.name, table))
        metadata["dagster/row_count"] = MetadataValue.int(_row_count(pipeline, table))
        metadata.setdefault("rows_loaded", MetadataValue.int(0))
        metadata["schema_changes"] = MetadataValue.json(changes.get(table, {}))
        metadata["schema_change_summary"] = MetadataValue.text(summarize(changes.get(table, {})))
        metadata["dropped_packages"] = MetadataValue.json(dropped)
        metadata["recovered_packages"] = MetadataValue.json(recovery.finished)
        metadata["pii_unhandled"] = MetadataValue.json(
            [u.message() for u in outcome.pii.unhandled if u.table == table]
        )
        for key, value in kind_metadata.items():
            metadata[key] = MetadataValue.json(value)
        yield MaterializeResult(asset_key=AssetKey([spec.name, table]), metadata=metadata)


def _selected_resources(context: AssetExecutionContext, spec: SourceSpec, source: Any) -> Any:
    """``source`` with only the resources whose tables this step materializes."""
    if not context.is_subset:
        return source
    wanted = {key.path[-1] for key in context.selected_asset_keys}
    names = [r.name for r in source.resources.values() if r.table_name in wanted]
    return source.with_resources(*names)


def _drop_failed_load(
    context: AssetExecutionContext, spec: SourceSpec, pipeline: Any, exc: Exception
) -> str:
    """Drop what a terminal failure left pending, so the next run starts from fresh data."""
    try:
        dropped = abort_failed_packages(pipeline, explain_load_failure(exc, spec, values=False))
    except Exception as drop_error:  # the next run's recovery retries; the failure matters more
        context.log.warning(
            f"{spec.name}: could not drop the failed load package; the next run retries: "
            + loggable_traceback(drop_error, spec)
        )
        return ""
    if dropped:
        ids = ", ".join(package.load_id for package in dropped)
        context.log.warning(f"{spec.name}: dropped load package {ids}, which cannot load")
    elif explains_itself(exc):
        return ""
    return f"; {describe_drop(dropped)}"


def _row_count(pipeline: Any, table: str) -> int:
    with pipeline.sql_client() as client:
        qualified = client.make_qualified_table_name(table)
        with client.execute_query(f"select count(*) from {qualified}") as cursor:
            return int(cursor.fetchone()[0])
