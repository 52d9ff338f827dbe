"""Build the dlt source and pipeline for one spec. Only ever called inside a run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.pii import load_salt, pii_transform
from pipelines.secrets import resolve_secrets
from pipelines.spec import SourceSpec
from pipelines.warehouse import PROJECT_ROOT, Warehouse

# dlt phones home by default; these machines have no internet and nobody asked for it.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt warns on every load about DuckDB timestamp precision; our own output says what matters.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
# Dagster owns Ctrl-C and SIGTERM: its handler stops the step at once and marks the run. dlt's
# own handler would instead drain the running load jobs first, for as long as they take.
os.environ.setdefault("RUNTIME__INTERCEPT_SIGNALS", "false")
# Rows from Arrow items carry their load id too, as dict rows always do: a failed package's rows
# can then be removed from append tables (pipelines.failed_packages), and a table that got dict
# rows first (which makes `_dlt_load_id` NOT NULL) still accepts Arrow items later.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")

PIPELINE_PREFIX = "sourcegate"  # pipeline names are `<prefix>_<source>`
LOAD_ID_COLUMN = "_dlt_load_id"


def build_source(
    spec: SourceSpec, warehouse: Warehouse, root: Path = PROJECT_ROOT, salt: bytes | None = None
) -> Any:
    """The dlt source for ``spec``, with PII rules attached to every table.

    ``salt`` overrides the warehouse's PII salt (previews hash like the warehouse does).

    Raises:
        MissingSecretError: if a `{secret: NAME}` it uses is not set.
    """
    salt = salt if salt is not None else load_salt(warehouse.state_dir)
    source = _kind_source(spec, warehouse, root, salt)
    for resource in source.resources.values():
        # Tables loaded from Arrow items before load ids were added to them lack the column;
        # dlt would add it as NOT NULL, which no warehouse accepts on a table with rows.
        resource.apply_hints(columns={LOAD_ID_COLUMN: {"data_type": "text", "nullable": True}})
    return source


def _kind_source(spec: SourceSpec, warehouse: Warehouse, root: Path, salt: bytes) -> Any:
    import dlt

    if spec.kind == "files":
        from pipelines.file_reader import files_resource

        # The file readers apply PII themselves (in SQL on the fast path).
        resource, files_read = files_resource(
            spec.files,
            root,
            spec.pii,
            salt,
            lists_as_text=warehouse.kind != "duckdb",
            data_type_contract=spec.schema_contract()["data_type"],
        )
        source = dlt.source(name=spec.name)(lambda: [resource])()
        source.sourcegate_files_read = files_read
        return source
    if spec.kind == "sql_database":
        source = _sql_source(spec)
    else:
        from dlt.sources.rest_api import rest_api_source

        from pipelines.arrow_records import RecordsToArrow
        from pipelines.concurrent_pages import use_concurrent_pages

        config = resolve_secrets(spec.rest_api, spec.name)
        source = rest_api_source(config, name=spec.name)
        use_concurrent_pages(source, config, spec.max_concurrent_requests)
        for resource in source.resources.values():
            resource.add_step(RecordsToArrow(lists_as_text=warehouse.kind != "duckdb"))
    _attach_pii(source, spec, salt)
    return source


def files_read_by(source: Any) -> list[str] | None:
    """The files a files source opened during its run (None for other kinds)."""
    return getattr(source, "sourcegate_files_read", None)


def build_pipeline(spec: SourceSpec, warehouse: Warehouse, prefix: str = PIPELINE_PREFIX) -> Any:
    """A dlt pipeline unique to this source, writing to ``warehouse`` under schema = name."""
    import dlt

    return dlt.pipeline(
        pipeline_name=f"{prefix}_{spec.name}",
        pipelines_dir=str(warehouse.state_dir / "pipelines"),
        destination=warehouse.destination(),
        dataset_name=spec.name,
        progress="log" if os.environ.get("SOURCEGATE_DLT_PROGRESS") else None,
    )


def _sql_source(spec: SourceSpec) -> Any:
    import dlt
    from dlt.sources.sql_database import sql_database

    sql = spec.sql_database
    url = resolve_secrets(sql.credentials.model_dump(), spec.name)
    source = sql_database(
        credentials=url,
        schema=sql.schema_,
        table_names=[t.name for t in sql.tables],
        backend="pyarrow",
    )
    for table in sql.tables:
        resource = source.resources[table.name]
        hints: dict[str, Any] = {}
        if table.primary_key:
            hints["primary_key"] = table.primary_key
        disposition = table.write_disposition or ("merge" if table.primary_key else "replace")
        hints["write_disposition"] = disposition
        if table.columns:
            hints["columns"] = {c: {"data_type": t} for c, t in table.columns.items()}
        if table.incremental:
            hints["incremental"] = dlt.sources.incremental(
                table.incremental.cursor_column, initial_value=table.incremental.initial_value
            )
        resource.apply_hints(**hints)
    return source


def _attach_pii(source: Any, spec: SourceSpec, salt: bytes) -> None:
    """Hash and drop on every item: Arrow tables, or dict rows where a page stayed rows."""
    if not (spec.pii.hash or spec.pii.drop):
        return
    for table in spec.table_names():
        resource = _resource_for_table(source, table)
        hash_cols = spec.pii.columns_for(table, "hash")
        drop_cols = spec.pii.columns_for(table, "drop")
        if not (hash_cols or drop_cols):
            continue
        resource.add_map(pii_transform(hash_cols, drop_cols, salt))


def _resource_for_table(source: Any, table: str) -> Any:
    for resource in source.resources.values():
        if resource.name == table or resource.table_name == table:
            return resource
    raise KeyError(f"no resource produces table {table!r}")
