"""Extract ahead: `sourcegate run --parallel N` extracts up to N sources at once.

Each source still loads in its own Dagster run, one run at a time, so only the warehouse write
is serialized. What runs ahead, in threads, is the part that waits on the network or reads
files: for each source, a scratch dlt pipeline starts from a copy of the source's local state
(its cursors and schemas as the last load left them), extracts, and applies the PII check
(`runtime.load.extract_checked`). The package stays in a scratch folder beside the warehouse's
own pipeline folders. Nothing ahead opens the warehouse: only the run does, under the writer
lock.

The source's run then restores its state from the warehouse, as always, and adopts the package
only if the warehouse holds the state and schemas the extract started from. Otherwise (another
run loaded the source in between, the local state was stale, or the extract failed or had not
started) the run extracts itself, exactly as without `--parallel`. A failed extract ahead is
not reported: the run's own extract meets the same error and reports it, with its retries and
failure reasons.

Sources with `http:` overrides are not extracted ahead: dlt reads those settings from the
environment, which all threads share. While such a source's run holds its settings, nothing
else is extracting (`ExtractAhead.before`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.governance.pii import PiiReport
from pipelines.runtime.run_processes import pid_is_running
from pipelines.runtime.warehouse import Warehouse
from pipelines.spec.models import SourceSpec
from pipelines.spec.registry import LoadedSource

SCRATCH_FOLDER = "extract_ahead"
_active: ExtractAhead | None = None


@dataclass(frozen=True)
class ExtractedAhead:
    """One source extracted ahead: its package (in ``working_dir``) and what the run needs."""

    source: Any  # the dlt source it was extracted from (kinds read run facts from it)
    working_dir: Path
    fingerprint: str
    pii: PiiReport


def extracts_ahead(spec: SourceSpec) -> bool:
    """Whether ``spec`` may extract in a thread beside others (no process-wide settings)."""
    return not (spec.kind == "rest_api" and spec.http.as_dlt_runtime())


def state_fingerprint(pipeline: Any) -> str:
    """A digest of the state and schemas a pipeline restored from the warehouse."""
    versions = {
        "state": pipeline.state.get("_version_hash"),
        "schemas": {name: schema.version_hash for name, schema in pipeline.schemas.items()},
    }
    return hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()


class ExtractAhead:
    """Extracts ``sources`` ahead of their runs, ``workers`` at a time, in run order."""

    def __init__(self, sources: list[LoadedSource], warehouse: Warehouse, workers: int) -> None:
        self._sources = [s.spec for s in sources]
        self._warehouse = warehouse
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sourcegate-extract-ahead")
        self._futures: dict[str, Future[ExtractedAhead]] = {}
        self._submitted = 0
        self._closed = threading.Event()
        self.root = warehouse.state_dir / SCRATCH_FOLDER / str(os.getpid())

    def before(self, name: str) -> None:
        """Called before the run of source ``name``: extract ahead from there.

        Sources up to the next one with `http:` settings are submitted; that one waits until
        everything before it was taken by its run, so nothing extracts beside its settings.
        """
        names = [spec.name for spec in self._sources]
        if name not in names or names.index(name) < self._submitted:
            return
        position = names.index(name)
        for spec in self._sources[position:]:
            if not extracts_ahead(spec):
                if self._submitted == position:
                    self._settle()
                    self._submitted += 1  # its own run extracts it, alone
                break
            self._futures[spec.name] = self._pool.submit(self._extract, spec)
            self._submitted += 1

    def take(self, name: str) -> ExtractedAhead | None:
        """The extract ahead of ``name`` (waiting for it), or None: not started, or failed."""
        future = self._futures.pop(name, None)
        if future is None or future.cancel():
            return None
        wait([future])  # Ctrl-C or SIGTERM (Dagster raises it here) stops the wait
        if future.exception() is not None:  # the run's own extract meets and reports it
            return None
        return future.result()

    def _settle(self) -> None:
        """Wait for every extract still running (one whose run never came, e.g. a run that
        failed to start) and drop those not started."""
        for name in list(self._futures):
            self.take(name)

    def close(self) -> None:
        """Stop extracting ahead and delete every scratch package not taken."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _extract(self, spec: SourceSpec) -> ExtractedAhead:
        from pipelines.runtime.build import (
            build_pipeline,
            build_source,
            pii_guard,
            pipeline_folder,
        )
        from pipelines.runtime.load import extract_checked

        if self._closed.is_set():
            raise RuntimeError("closed")
        source = build_source(spec, self._warehouse)
        own = pipeline_folder(spec, self._warehouse)
        scratch = self.root / spec.name / own.name
        for name in ("state.json", "schemas"):  # not its packages: the run finishes those
            if (own / name).is_file():
                scratch.mkdir(parents=True, exist_ok=True)
                shutil.copy2(own / name, scratch / name)
            elif (own / name).is_dir():
                shutil.copytree(own / name, scratch / name)
        pipeline = build_pipeline(spec, self._warehouse, pipelines_dir=scratch.parent)
        if not pipeline.config.restore_from_destination:
            raise RuntimeError("local state only: the run extracts itself")
        fingerprint = state_fingerprint(pipeline)
        report = extract_checked(pipeline, source, spec, pii_guard(source))
        return ExtractedAhead(source, Path(pipeline.working_dir), fingerprint, report)


def remove_abandoned_scratch(warehouse: Warehouse) -> None:
    """Delete scratch packages of `sourcegate run` processes that are gone (killed)."""
    root = warehouse.state_dir / SCRATCH_FOLDER
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.name.isdigit() and not pid_is_running(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def extracting_ahead(
    sources: list[LoadedSource], warehouse: Warehouse, workers: int
) -> Iterator[ExtractAhead | None]:
    """Extract ``sources`` ahead of their runs for the block (None when ``workers`` < 2)."""
    global _active
    remove_abandoned_scratch(warehouse)
    if workers < 2 or len(sources) < 2:
        yield None
        return
    import_before_threads(sources)
    _active = ExtractAhead(sources, warehouse, workers)
    try:
        yield _active
    finally:
        _active.close()
        _active = None


def import_before_threads(sources: list[LoadedSource]) -> None:
    """Import, in this thread, what extracting ``sources`` imports on first use.

    dlt tells Arrow tables and pandas frames apart by looking their modules up in
    `sys.modules` (`dlt.common.libs.is_pandas_frame`), where a module another thread is still
    importing sits half-initialized: a run beside an extract whose DuckDB query was importing
    pandas failed with "partially initialized module". Nothing is imported twice.
    """
    import importlib
    import importlib.util

    modules = ["dlt", "dlt.extract", "dlt.normalize", "dlt.load", "duckdb", "pyarrow"]
    modules += [m for m in ("pandas", "polars") if importlib.util.find_spec(m) is not None]
    kinds = {s.spec.kind for s in sources}
    modules += [f"pipelines.kinds.{kind}" for kind in sorted(kinds)]
    if "rest_api" in kinds:
        modules.append("dlt.sources.rest_api")
    if "sql_database" in kinds:
        modules.append("dlt.sources.sql_database")
    if "files" in kinds:
        modules.append("pipelines.kinds.files.reader")
    for name in modules:
        importlib.import_module(name)


def take_extracted_ahead(name: str) -> ExtractedAhead | None:
    """The package extracted ahead for source ``name`` in this process, if any (the step's
    entry point: runs launched elsewhere, such as by the daemon, find none)."""
    return _active.take(name) if _active is not None else None


def adopt(pipeline: Any, ahead: ExtractedAhead | None) -> Any:
    """A pipeline over ``pipeline``'s folder holding the package extracted ahead, or None.

    Call it right after ``pipeline`` restored its state from the warehouse. The package is
    adopted only when that state (and the schemas) are the ones its extract started from;
    None tells the caller to extract itself.
    """
    import dlt

    if ahead is None or state_fingerprint(pipeline) != ahead.fingerprint:
        return None
    target = Path(pipeline.working_dir)
    shutil.rmtree(target)
    os.replace(ahead.working_dir, target)
    return dlt.pipeline(
        pipeline_name=pipeline.pipeline_name,
        pipelines_dir=pipeline.pipelines_dir,
        destination=pipeline.destination,
        dataset_name=pipeline.dataset_name,
        progress=pipeline.collector,
    )
