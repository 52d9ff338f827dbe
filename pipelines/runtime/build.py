"""Build the dlt source and pipeline for one spec. Only ever called inside a run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.governance.salt import load_salt
from pipelines.kinds import BuildContext, kind_of
from pipelines.runtime.warehouse import Warehouse
from pipelines.settings import PROJECT_ROOT
from pipelines.spec.models import SourceSpec

# dlt phones home by default; these machines have no internet and nobody asked for it.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt warns on every load about DuckDB timestamp precision; our own output says what matters.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
# Dagster owns Ctrl-C and SIGTERM: its handler stops the step at once and marks the run. dlt's
# own handler would instead drain the running load jobs first, for as long as they take.
os.environ.setdefault("RUNTIME__INTERCEPT_SIGNALS", "false")
# Rows from Arrow items carry their load id too, as dict rows always do: a failed package's rows
# can then be removed from append tables (runtime.failed_packages), and a table that got dict
# rows first (which makes `_dlt_load_id` NOT NULL) still accepts Arrow items later.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")

PIPELINE_PREFIX = "sourcegate"  # pipeline names are `<prefix>_<source>`
LOAD_ID_COLUMN = "_dlt_load_id"


def build_source(
    spec: SourceSpec, warehouse: Warehouse, root: Path = PROJECT_ROOT, salt: bytes | None = None
) -> Any:
    """The dlt source for ``spec``, built by its kind, with PII rules attached to every table.

    ``salt`` overrides the warehouse's PII salt (previews hash like the warehouse does).

    Raises:
        MissingSecretError: if a `{secret: NAME}` it uses is not set.
    """
    salt = salt if salt is not None else load_salt(warehouse.state_dir)
    source = kind_of(spec).build_source(spec, BuildContext(warehouse, root, salt))
    for resource in source.resources.values():
        # Tables loaded from Arrow items before load ids were added to them lack the column;
        # dlt would add it as NOT NULL, which no warehouse accepts on a table with rows.
        resource.apply_hints(columns={LOAD_ID_COLUMN: {"data_type": "text", "nullable": True}})
    return source


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
