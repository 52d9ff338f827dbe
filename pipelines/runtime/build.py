"""Build the dlt source and pipeline for one spec. Only ever called inside a run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.governance.pii import PiiGuard
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
# ... and a `_dlt_id`, as every row dlt normalizes itself has (users query it).
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "true")
# Nothing raw stays outside the warehouse: dlt would keep a copy of every loaded package's data
# under the pipeline folder, and of merge rows in the staging dataset.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
# An API's error body can hold personal data, and dlt keeps failures in its trace file. Set, not
# defaulted: nothing raw leaves the warehouse, whatever the environment says.
os.environ["RUNTIME__HTTP_SHOW_ERROR_BODY"] = "false"

PIPELINE_PREFIX = "sourcegate"  # pipeline names are `<prefix>_<source>`
LOAD_ID_COLUMN = "_dlt_load_id"


def build_source(
    spec: SourceSpec, warehouse: Warehouse, root: Path = PROJECT_ROOT, salt: bytes | None = None
) -> Any:
    """The dlt source for ``spec``, built by its kind, with the PII step on every resource.

    The step (`pii_guard(source)`) comes after the kind's own steps, so it sees items as they
    will land; kinds add steps that need landed values (hashed keys) after it.

    ``salt`` overrides the warehouse's PII salt (previews hash like the warehouse does).

    Raises:
        MissingSecretError: if a `{secret: NAME}` it uses is not set.
    """
    salt = salt if salt is not None else load_salt(warehouse.state_dir)
    kind = kind_of(spec)
    context = BuildContext(warehouse, root)
    source = kind.build_source(spec, context)
    guard = PiiGuard(spec.pii, salt, source.schema.naming)
    guard.attach(source)
    source.sourcegate_pii = guard
    kind.after_pii(source, spec, context)
    if context.lists_as_text:
        from pipelines.kinds.arrow_records import ListsAsText

        for resource in source.resources.values():
            resource.add_step(ListsAsText())
    for resource in source.resources.values():
        # Tables loaded from Arrow items before load ids were added to them lack the column;
        # dlt would add it as NOT NULL, which no warehouse accepts on a table with rows.
        resource.apply_hints(columns={LOAD_ID_COLUMN: {"data_type": "text", "nullable": True}})
    return source


def pii_guard(source: Any) -> PiiGuard:
    """The PII step `build_source` attached to ``source``: it knows what it saw."""
    return source.sourcegate_pii


def pipeline_folder(spec: SourceSpec, warehouse: Warehouse) -> Path:
    """The local folder (dlt's working dir) of the source's pipeline."""
    return warehouse.state_dir / "pipelines" / f"{PIPELINE_PREFIX}_{spec.name}"


def build_pipeline(
    spec: SourceSpec,
    warehouse: Warehouse,
    prefix: str = PIPELINE_PREFIX,
    pipelines_dir: Path | None = None,
) -> Any:
    """A dlt pipeline unique to this source, writing to ``warehouse`` under schema = name.

    Its local folder is under the warehouse's state folder, or ``pipelines_dir`` (scratch
    pipelines that extract ahead, `runtime.extract_ahead`).
    """
    import dlt

    return dlt.pipeline(
        pipeline_name=f"{prefix}_{spec.name}",
        pipelines_dir=str(pipelines_dir or pipeline_folder(spec, warehouse).parent),
        destination=warehouse.destination(),
        dataset_name=spec.name,
        progress="log" if os.environ.get("SOURCEGATE_DLT_PROGRESS") else None,
    )
