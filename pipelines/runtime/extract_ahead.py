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

The adopted package must also be the newest: a source that keeps no state (a snapshot it
replaces, or appends) restores the same state after another run loaded it, so the warehouse's
own list of loads (`_dlt_loads`) is read too, and a load newer than the package's means the
package is stale.

At most N sources are extracted ahead of the one loading, so scratch space stays bounded and
the data stays fresh. The threads are daemon threads: a command that ends (or is interrupted)
does not wait for extracts whose runs will never come.

Some sources are not extracted ahead (`extracts_ahead`): those with `http:` overrides (dlt
reads them from the environment, which all threads share; while such a source's run holds its
settings, nothing else is extracting), and file drops with a `primary_key` (their extract asks
the warehouse which keys newer files hold, `kinds.files.precedence`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.governance.pii import PiiReport
from pipelines.runtime.run_processes import RunProcess, current_process
from pipelines.runtime.warehouse import Warehouse
from pipelines.spec.models import SourceSpec
from pipelines.spec.registry import LoadedSource

SCRATCH_FOLDER = "extract_ahead"
THREAD_PREFIX = "sourcegate-extract-ahead-"
_active: ExtractAhead | None = None


@dataclass(frozen=True)
class ExtractedAhead:
    """One source extracted ahead: its package (in ``working_dir``) and what the run needs."""

    source: Any  # the dlt source it was extracted from (kinds read run facts from it)
    working_dir: Path
    fingerprint: str
    load_id: str
    pii: PiiReport


def extracts_ahead(spec: SourceSpec) -> bool:
    """Whether ``spec`` may extract in a thread beside others, without the warehouse."""
    if spec.kind == "files":
        return not spec.files.primary_key  # precedence reads the warehouse while extracting
    return not sets_environment(spec)


def sets_environment(spec: SourceSpec) -> bool:
    """Whether ``spec``'s run sets process-wide settings (a REST source's `http:`), which
    nothing else may extract beside."""
    return spec.kind == "rest_api" and bool(spec.http.as_dlt_runtime())


def state_fingerprint(pipeline: Any) -> str:
    """A digest of the state and schemas a pipeline holds (restored, or copied)."""
    versions = {
        "state": pipeline.state.get("_version_hash"),
        "schemas": {name: schema.version_hash for name, schema in pipeline.schemas.items()},
    }
    return hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()


class ExtractAhead:
    """Extracts ``sources`` ahead of their runs, at most ``workers`` beyond the one loading."""

    def __init__(self, sources: list[LoadedSource], warehouse: Warehouse, workers: int) -> None:
        self._sources = [s.spec for s in sources]
        self._warehouse = warehouse
        self._workers = workers
        self._futures: dict[str, Future[ExtractedAhead]] = {}
        self._submitted = 0
        self._closed = threading.Event()
        self.root = warehouse.state_dir / SCRATCH_FOLDER / _scratch_name(current_process())

    def before(self, name: str) -> None:
        """Called before the run of source ``name``: extract the next ones ahead.

        The window holds the next ``workers`` sources from ``name`` on; those that may run
        ahead are extracting or extracted, the others extract in their own run. A source with
        `http:` settings closes the window: when its turn comes, everything before it has been
        taken by its run, so nothing extracts beside its settings.
        """
        names = [spec.name for spec in self._sources]
        if name not in names:
            return
        position = names.index(name)
        if position == self._submitted and sets_environment(self._sources[position]):
            self._settle()
            self._submitted += 1  # its own run extracts it, alone
            return
        while self._submitted < min(position + self._workers, len(self._sources)):
            spec = self._sources[self._submitted]
            if sets_environment(spec):
                break
            if extracts_ahead(spec):
                self._futures[spec.name] = self._start(spec)
            self._submitted += 1

    def take(self, name: str) -> ExtractedAhead | None:
        """The extract ahead of ``name`` (waiting for it), or None: not started, or failed."""
        future = self._futures.pop(name, None)
        if future is None:
            return None
        wait([future])  # Ctrl-C or SIGTERM (Dagster raises it here) stops the wait
        if future.exception() is not None:  # the run's own extract meets and reports it
            return None
        return future.result()

    def close(self) -> None:
        """Stop extracting ahead and delete every scratch package not taken."""
        self._closed.set()
        shutil.rmtree(self.root, ignore_errors=True)

    def _start(self, spec: SourceSpec) -> Future[ExtractedAhead]:
        future: Future[ExtractedAhead] = Future()

        def extract() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._extract(spec))
            except BaseException as exc:  # the run meets and reports it
                future.set_exception(exc)

        name = f"{THREAD_PREFIX}{spec.name}"
        threading.Thread(target=extract, name=name, daemon=True).start()
        return future

    def _settle(self) -> None:
        """Wait for every extract still running (one whose run never came, e.g. a run that
        failed to start)."""
        for name in list(self._futures):
            self.take(name)

    def _extract(self, spec: SourceSpec) -> ExtractedAhead:
        from pipelines.runtime.build import (
            build_pipeline,
            build_source,
            pii_guard,
            pipeline_folder,
        )
        from pipelines.runtime.load import CHECKED_PACKAGES, extract_checked

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
        # local-only state is the run's own: the package brings only its own check mark
        pipeline.set_local_state_val(CHECKED_PACKAGES, [])
        fingerprint = state_fingerprint(pipeline)
        report = extract_checked(pipeline, source, spec, pii_guard(source))
        (load_id,) = pipeline.list_extracted_load_packages()
        return ExtractedAhead(source, Path(pipeline.working_dir), fingerprint, load_id, report)


def _scratch_name(process: RunProcess) -> str:
    """`<pid>-<start ticks>-<pid space digest>`: whose folder it is, checkable from here."""
    space = hashlib.sha256(process.pid_space.encode()).hexdigest()[:8]
    return f"{process.pid}-{process.start_ticks or 0}-{space}"


def remove_abandoned_scratch(warehouse: Warehouse) -> None:
    """Delete scratch packages of `sourcegate run` processes that are gone (killed).

    Only folders of this pid space are judged: a process in another container sharing the
    state folder cannot be checked from here, and its packages are left alone.
    """
    root = warehouse.state_dir / SCRATCH_FOLDER
    if not root.is_dir():
        return
    me = current_process()
    space = _scratch_name(me).rsplit("-", 1)[1]
    for folder in root.iterdir():
        parts = folder.name.split("-")
        if len(parts) != 3 or parts[2] != space or not (parts[0] + parts[1]).isdigit():
            continue
        owner = RunProcess(me.host, int(parts[0]), int(parts[1]) or None, me.pid_space)
        if not owner.is_alive():
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def extracting_ahead(
    sources: list[LoadedSource], warehouse: Warehouse, workers: int
) -> Iterator[ExtractAhead | None]:
    """Extract ``sources`` ahead of their runs for the block (None when ``workers`` < 2)."""
    global _active
    from pipelines.governance.salt import SALT_ENV, keeps_file_salt, load_salt

    remove_abandoned_scratch(warehouse)
    if workers < 2 or len(sources) < 2:
        yield None
        return
    import_before_threads(sources)
    if not os.environ.get(SALT_ENV) and keeps_file_salt(warehouse.state_dir):
        load_salt(warehouse.state_dir)  # a new warehouse's salt file is made once, here
    _active = ExtractAhead(sources, warehouse, workers)
    try:
        yield _active
    finally:
        _active.close()
        _active = None


def extracts_linger() -> bool:
    """Whether an extract ahead whose run never came still runs: the command should exit
    without waiting for it (or for the page fetches it started, which are not daemons)."""
    return any(t.name.startswith(THREAD_PREFIX) for t in threading.enumerate())


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

    Call it right after ``pipeline`` restored its state from the warehouse, under the writer
    lock. The package is adopted only when that state (and the schemas) are the ones its
    extract started from, and the warehouse has no newer load of the source; None tells the
    caller to extract itself.
    """
    import dlt

    if ahead is None or not ahead.working_dir.is_dir():
        return None
    if state_fingerprint(pipeline) != ahead.fingerprint:
        return None
    newest = _newest_load_id(pipeline)
    if newest is not None and float(newest) > float(ahead.load_id):
        return None  # another run loaded the source after this package was extracted
    target = Path(pipeline.working_dir)
    aside = target.with_name(f"{target.name}.replaced")
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(target, aside)
    try:
        os.replace(ahead.working_dir, target)
    except OSError:  # the package went (its folder deleted): put the run's own folder back
        os.replace(aside, target)
        return None
    shutil.rmtree(aside, ignore_errors=True)
    return dlt.pipeline(
        pipeline_name=pipeline.pipeline_name,
        pipelines_dir=pipeline.pipelines_dir,
        destination=pipeline.destination,
        dataset_name=pipeline.dataset_name,
        progress=pipeline.collector,
    )


def _newest_load_id(pipeline: Any) -> str | None:
    """The newest load id the warehouse holds for the pipeline's schema (None: no loads)."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    if not pipeline.default_schema_name:
        return None
    try:
        with pipeline.sql_client() as client:
            loads = client.make_qualified_table_name(pipeline.default_schema.loads_table_name)
            rows = client.execute_sql(
                f"select max(load_id) from {loads} where schema_name = %s",
                pipeline.default_schema_name,
            )
    except DatabaseUndefinedRelation:
        return None
    return rows[0][0] if rows else None
