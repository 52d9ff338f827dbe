"""SIGKILL during extract, normalize and load; the next run ends with every record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dagster

SPEC = """\
name: order_drop
description: Orders exported as CSV files
owner: team:shop
files:
  bucket_url: {drop}
  file_glob: "orders_*.csv"
  format: csv
  table: orders
  primary_key: order_id
"""

# The child runs the real Dagster asset, with one hook that kills it at the chosen moment.
CHILD = r"""
import os, signal, sys
from pathlib import Path
stage = sys.argv[1]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if stage == "extract":  # after the first file's rows, while the second is being read
    import pipelines.file_reader as reader
    original, calls = reader._with_source_file, []
    def counted(table, name):
        calls.append(name)
        if len(calls) == 2:
            die()
        return original(table, name)
    reader._with_source_file = counted
elif stage in ("normalize", "load_start"):  # at the start of that dlt step
    import importlib
    trace = importlib.import_module("dlt.pipeline.trace")
    class KillAtNormalize:
        def on_start_trace(self, *a): pass
        def on_start_trace_step(self, trace, step, pipeline):
            if step == stage.removesuffix("_start"): die()
        def on_end_trace_step(self, *a): pass
        def on_end_trace(self, *a): pass
    trace.TRACKING_MODULES.append(KillAtNormalize())
elif stage == "load":  # the first load job has written its rows; dlt has not recorded it
    from dlt.destinations.impl.duckdb import duck
    original_run = duck.DuckDbCopyJob.run
    def run_then_die(self):
        original_run(self)
        die()
    duck.DuckDbCopyJob.run = run_then_die

from dagster import materialize
from assets.factory import definitions_for_sources
from pipelines.registry import load_registry
registry = load_registry(Path(os.environ["SOURCES"]))
defs = definitions_for_sources(registry.sources, os.environ["SOURCEGATE_WAREHOUSE"])
materialize(list(defs.assets), resources=defs.resources, raise_on_error=False)
print("not killed")
"""


def _killed_run(tmp_path: Path, repo: Path, stage: str, disposition: str) -> tuple[Path, Path]:
    """Write 3 files of 1,000 orders, then run the source in a child killed at ``stage``."""
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    sources.mkdir()
    for n in range(3):
        rows = "".join(f"{n * 1000 + i},{(n * 1000 + i) * 0.5}\n" for i in range(1000))
        (drop / f"orders_{n}.csv").write_text("order_id,amount\n" + rows)
    spec = SPEC.format(drop=drop) + f"  write_disposition: {disposition}\n"
    (sources / "order_drop.yaml").write_text(spec)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, stage],
        cwd=repo,
        env={**os.environ, "SOURCES": str(sources)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr[-2000:]
    return drop, sources


@pytest.mark.parametrize("stage", ["extract", "normalize", "load"])
def test_a_killed_run_is_completed_exactly_once_by_the_next(
    stage: str, tmp_path: Path, warehouse_path: Path, materialize_sources, query, repo: Path
) -> None:
    _, sources = _killed_run(tmp_path, repo, stage, "merge")

    outcome = materialize_sources(sources)
    assert outcome.success, outcome.failure
    assert query(
        "select count(*), count(distinct order_id), sum(amount) from order_drop.orders"
    ) == [(3000, 3000, sum(i * 0.5 for i in range(3000)))]
    # and a further run changes nothing
    assert materialize_sources(sources).success
    assert query("select count(*) from order_drop.orders") == [(3000,)]


@pytest.mark.parametrize("stage", ["normalize", "load_start"])
def test_data_extracted_before_the_kill_is_not_lost_when_the_source_is_gone(
    stage: str, tmp_path: Path, warehouse_path: Path, materialize_sources, query, repo: Path
) -> None:
    """The drop folder is emptied after the killed run (the vendor moved the files away):
    the next run still lands what the killed one had extracted, once, even for append."""
    drop, sources = _killed_run(tmp_path, repo, stage, "append")
    for path in drop.iterdir():
        path.unlink()
    outcome = materialize_sources(sources)
    assert outcome.success, outcome.failure
    assert query("select count(*), count(distinct order_id) from order_drop.orders") == [
        (3000, 3000)
    ]
