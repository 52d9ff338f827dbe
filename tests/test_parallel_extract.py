"""`sourcegate run --parallel N`: sources extract ahead of their runs, and land as without it.

One set of sources (paged REST APIs on loopback, one with `http:` settings, one that answers
401, and file drops) is run twice with `--parallel 1` into one warehouse and twice with
`--parallel 4` into another. Every table must hold the same rows, each run's outcome must
read the same, and the parallel runs must have really overlapped their requests.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.settings import environment
from tests.fake_api import FakeApi, InFlight, events, json_response, serve

pytestmark = pytest.mark.dagster
TOKEN = "evt-token-for-parallel-tests"
REPO = Path(__file__).resolve().parent.parent

REST = """\
name: {name}
description: Email events from the ESP
owner: team:crm
max_concurrent_requests: 1
{http}rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: {secret}}}}}
    paginator: {{type: page_number, base_page: 1, page_param: page, total_path: total_pages}}
  resource_defaults:
    primary_key: id
    write_disposition: {disposition}
  resources:
    - name: events
      endpoint:
        path: v1/{route}
        data_selector: data
        params: {{per_page: 40}}
pii:
  hash: [events.email]
checks:
  events:
    - {{expect: unique, column: id}}
"""


KEYLESS_DROP = """\
name: {name}
description: Page visits exported as CSV files
owner: team:web
files:
  bucket_url: {drop}
  file_glob: "*.csv"
  format: csv
  table: visits
checks:
  visits:
    - {{expect: row_count_between, min: 1}}
"""


def _api(records: list[dict[str, Any]]) -> tuple[FakeApi, InFlight]:
    """Two paged routes over the same records (20 ms per page); one shared in-flight count."""
    import time

    api = FakeApi(token=TOKEN)
    in_flight = InFlight()

    def pages(route_records: list[dict[str, Any]]):
        def handler(request):
            with in_flight:
                time.sleep(0.02)
                page, size = int(request.query["page"]), int(request.query["per_page"])
                chunk = route_records[(page - 1) * size : page * size]
                total = -(-len(route_records) // size)
                return json_response(200, {"data": chunk, "total_pages": total})

        return handler

    api.routes["/v1/events"] = pages(records)
    api.routes["/v1/clicks"] = pages(records[:130])
    return api, in_flight


def _sources(folder: Path, base: str) -> Path:
    folder.mkdir()
    specs = {
        "esp_events": ("events", "merge", "", "ESP_TOKEN"),
        "esp_clicks": ("clicks", "append", "", "ESP_TOKEN"),
        "esp_slow": ("events", "merge", "http: {timeout_seconds: 30}\n", "ESP_TOKEN"),
        "esp_denied": ("events", "merge", "", "ESP_WRONG_TOKEN"),
    }
    for name, (route, disposition, http, secret) in specs.items():
        (folder / f"{name}.yaml").write_text(
            REST.format(
                name=name,
                base=base,
                route=route,
                disposition=disposition,
                http=http,
                secret=secret,
            )
        )
    drop = folder.parent / "visits_drop"
    drop.mkdir()
    (drop / "visits_1.csv").write_text(
        "visit_id,page\n" + "".join(f"{i},p{i % 7}\n" for i in range(50))
    )
    (folder / "visits.yaml").write_text(KEYLESS_DROP.format(name="visits", drop=drop))
    for name in ("ad_spend", "webshop_orders"):
        text = (REPO / "sources" / f"{name}.yaml").read_text()
        (folder / f"{name}.yaml").write_text(
            text.replace("bucket_url: data/", f"bucket_url: {REPO}/data/")
        )
    return folder


def _run(sources: Path, home: Path, parallel: int) -> str:
    from pipelines.cli.run import run_sources

    out = io.StringIO()
    with environment(
        {
            "SOURCEGATE_WAREHOUSE": str(home / "wh" / "marketing.duckdb"),
            "DAGSTER_HOME": str(home / "dagster"),
        }
    ):
        run_sources([], sources, out=out, parallel=parallel)
    return out.getvalue()


def _tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of every source schema, rows sorted, dlt's per-row ids left out."""
    found = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not like '%staging' and table_name not like '_dlt%'"
        ).fetchall()
        for schema, table in names:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? and column_name not in ('_dlt_id', '_dlt_load_id', "
                    "'_dlt_parent_id', '_dlt_root_id') order by column_name",
                    [schema, table],
                ).fetchall()
            ]
            rows = con.execute(f'select {", ".join(columns)} from "{schema}"."{table}"').fetchall()
            found[f"{schema}.{table}"] = sorted(rows, key=repr)
    return found


def _adopted(home: Path) -> int:
    """How many runs in the instance loaded a package extracted ahead."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        return sum(
            "extracted ahead" in (event.user_message or "")
            for run in instance.get_runs()
            for event in instance.all_logs(run.run_id)
        )


def _summary(output: str) -> list[str]:
    """The run's lines that do not depend on timing."""
    return sorted(
        re.sub(r"\d+\.\ds", "<time>", line)
        for line in output.splitlines()
        if line.startswith("[") and ": loading" not in line
    )


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("parallel")
    records = events(330)
    api, in_flight = _api(records)
    results: dict[str, Any] = {}
    with (
        serve(api),
        environment({"ESP_TOKEN": TOKEN, "ESP_WRONG_TOKEN": "wrong", "SOURCEGATE_PII_SALT": "s"}),
    ):
        sources = _sources(root / "sources", api.base_url)
        for parallel in (1, 4):
            home = root / f"parallel_{parallel}"
            in_flight.most = 0
            outputs = [_run(sources, home, parallel), _run(sources, home, parallel)]
            results[parallel] = {
                "outputs": outputs,
                "most": in_flight.most,
                "tables": _tables(home / "wh" / "marketing.duckdb"),
                "adopted": _adopted(home),
                "scratch": home / "wh" / ".marketing_dlt" / "extract_ahead",
            }
    return results


def test_parallel_runs_land_the_same_rows_as_one_at_a_time(both_ways: dict[str, Any]) -> None:
    one, four = both_ways[1], both_ways[4]
    assert one["tables"].keys() == four["tables"].keys()
    assert {"esp_events.events", "esp_clicks.events", "esp_slow.events"} <= one["tables"].keys()
    for table, rows in one["tables"].items():
        assert four["tables"][table] == rows, table
    # merge keeps one row per id; append doubles on the second run, both ways alike
    assert len(four["tables"]["esp_events.events"]) == 330
    assert len(four["tables"]["esp_clicks.events"]) == 260
    assert four["tables"]["esp_events.events"] == one["tables"]["esp_events.events"]


def test_parallel_runs_report_what_sequential_runs_report(both_ways: dict[str, Any]) -> None:
    for first, second in zip(both_ways[1]["outputs"], both_ways[4]["outputs"], strict=True):
        assert _summary(first) == _summary(second)
    denied = [line for line in both_ways[4]["outputs"][0].splitlines() if "esp_denied:" in line]
    assert any("failed" in line and "401" in line for line in denied), denied
    assert "wrong" not in "".join(both_ways[4]["outputs"])


def test_only_parallel_runs_extract_ahead_and_overlap(both_ways: dict[str, Any]) -> None:
    assert both_ways[1]["most"] == 1  # one request at a time: max_concurrent_requests: 1
    assert both_ways[1]["adopted"] == 0
    assert both_ways[4]["most"] >= 2  # requests of different sources overlapped
    # two runs x (esp_events, esp_clicks, visits). Extracted in their own runs: esp_slow
    # (`http:` settings), esp_denied (its extract ahead failed), ad_spend and webshop_orders
    # (a primary key: precedence reads the warehouse while extracting)
    assert both_ways[4]["adopted"] == 6


def test_no_scratch_package_is_left_behind(both_ways: dict[str, Any]) -> None:
    scratch = both_ways[4]["scratch"]
    assert not scratch.exists() or not any(scratch.rglob("*.*")), list(scratch.rglob("*"))


def _keyless_source(tmp_path: Path) -> tuple[Any, Path]:
    """A file drop without a primary key (so it extracts ahead) and its folder."""
    from pipelines.spec.registry import load_registry

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "visits_1.csv").write_text("visit_id,page\n" + "".join(f"{i},p\n" for i in range(20)))
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "visits.yaml").write_text(KEYLESS_DROP.format(name="visits", drop=drop))
    (source,) = load_registry(sources).sources
    return source, drop


def _ahead(source: Any, warehouse: Any) -> tuple[Any, Any]:
    """Extract ``source`` ahead, as `sourcegate run --parallel` does; wait for it."""
    from pipelines.runtime.extract_ahead import ExtractAhead

    extractor = ExtractAhead([source], warehouse, workers=2)
    extractor.before(source.name)
    extractor._futures[source.name].result(timeout=120)  # raises what the extract met
    ahead = extractor.take(source.name)
    assert ahead is not None
    return extractor, ahead


def test_a_package_extracted_from_an_older_state_is_not_adopted(
    tmp_path: Path, warehouse_path: Path
) -> None:
    """A load between the extract ahead and the run changes the warehouse state: the run
    extracts itself instead of loading rows the other load already has."""
    from pipelines.runtime.build import build_pipeline, build_source
    from pipelines.runtime.load import restore_for_load
    from pipelines.runtime.warehouse import Warehouse

    source, drop = _keyless_source(tmp_path)
    warehouse = Warehouse(warehouse_path)
    extractor, fresh = _ahead(source, warehouse)
    pipeline, adopted = restore_for_load(build_pipeline(source.spec, warehouse), fresh)
    assert adopted  # nothing loaded in between: the package extracted ahead is used
    pipeline.normalize()
    pipeline.load().raise_on_failed_jobs()
    extractor.close()
    assert len(_tables(warehouse_path)["visits.visits"]) == 20

    extractor, stale = _ahead(source, warehouse)  # extracts nothing new: the file was read
    # ... then a new file arrives and another run loads it before this package is used
    (drop / "visits_2.csv").write_text("visit_id,page\n" + "".join(f"{i},q\n" for i in range(5)))
    other, _ = restore_for_load(build_pipeline(source.spec, warehouse))
    other.run(build_source(source.spec, warehouse))
    pipeline, adopted = restore_for_load(build_pipeline(source.spec, warehouse), stale)
    assert not adopted
    assert stale.working_dir.exists()  # left for close(), not moved into the pipeline
    extractor.close()
    assert not extractor.root.exists()
    assert os.path.isdir(pipeline.working_dir)
    assert len(_tables(warehouse_path)["visits.visits"]) == 25


SNAPSHOT = """\
name: accounts
description: Account balances, a full snapshot each load
owner: team:crm
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: ACC_TOKEN}}}}
    paginator: single_page
  resource_defaults:
    primary_key: id
    write_disposition: {disposition}
  resources:
    - name: accounts
      endpoint:
        path: v1/accounts
        data_selector: data
pii:
  hash: [accounts.email]
"""


@pytest.mark.parametrize("disposition", ["replace", "append"])
def test_a_package_older_than_the_last_load_is_not_adopted_when_state_stays_the_same(
    tmp_path: Path,
    warehouse_path: Path,
    materialize_sources,
    query,
    monkeypatch: pytest.MonkeyPatch,
    disposition: str,
) -> None:
    """A snapshot source keeps no cursor: another run's load leaves its state as it was. The
    warehouse's newer load still tells the run that the package is stale (review of #15)."""
    import pipelines.runtime.extract_ahead as extract_ahead
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    version = {"v": 1}
    api = FakeApi(token="acc")
    api.routes["/v1/accounts"] = lambda request: json_response(
        200, {"data": [{"id": i, "email": f"a{i}@x.com", "balance": version["v"]} for i in (1, 2)]}
    )
    monkeypatch.setenv("ACC_TOKEN", "acc")
    with serve(api):
        sources = tmp_path / "sources"
        sources.mkdir()
        text = SNAPSHOT.format(base=api.base_url, disposition=disposition)
        (sources / "accounts.yaml").write_text(text)
        assert materialize_sources(sources).success  # balance 1 loaded
        version["v"] = 2
        (source,) = load_registry(sources).sources
        extractor, ahead = _ahead(source, Warehouse(warehouse_path))  # balance 2, ahead
        version["v"] = 3
        assert materialize_sources(sources).success  # another run loads balance 3 meanwhile
        extractor._futures[source.name] = _done(ahead)  # the run of `--parallel` takes it
        monkeypatch.setattr(extract_ahead, "_active", extractor)
        assert materialize_sources(sources).success  # extracts itself: balance 3 again
        extractor.close()
    balances = query("select balance, count(*) from accounts.accounts group by 1 order by 1")
    assert balances == ([(3, 2)] if disposition == "replace" else [(1, 2), (3, 4)])


def _done(value: Any) -> Any:
    from concurrent.futures import Future

    future: Future = Future()
    future.set_result(value)
    return future


def test_the_pii_salt_of_a_new_warehouse_is_made_once_when_threads_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extracts ahead build their sources at once; on a new warehouse each asks for the salt
    (review of #15: 174 of 300 races hashed with another or an empty salt)."""
    import threading

    from pipelines.governance.salt import load_salt

    monkeypatch.delenv("SOURCEGATE_PII_SALT", raising=False)
    for trial in range(50):
        state = tmp_path / str(trial) / ".marketing_dlt"
        barrier, got = threading.Barrier(4), []

        def worker(
            state: Path = state, barrier: threading.Barrier = barrier, got: list = got
        ) -> None:
            barrier.wait()
            got.append(load_salt(state))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        kept = (state / "pii_salt").read_text().strip().encode()
        assert len(kept) == 64 and got == [kept] * 4, trial
        assert [p.name for p in state.iterdir()] == ["pii_salt"]  # no draft left


def test_sources_extract_at_most_n_ahead_of_the_one_loading(tmp_path: Path) -> None:
    from pipelines.runtime.extract_ahead import ExtractAhead
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    sources = tmp_path / "sources"
    sources.mkdir()
    for index in range(5):
        drop = tmp_path / f"drop{index}"
        drop.mkdir()
        (drop / "v.csv").write_text("visit_id,page\n1,a\n")
        (sources / f"visits_{index}.yaml").write_text(
            KEYLESS_DROP.format(name=f"visits_{index}", drop=drop)
        )
    loaded = load_registry(sources).sources
    assert len(loaded) == 5
    extractor = ExtractAhead(loaded, Warehouse(tmp_path / "wh" / "marketing.duckdb"), workers=2)
    try:
        extractor.before("visits_0")
        assert sorted(extractor._futures) == ["visits_0", "visits_1"]
        assert extractor.take("visits_0") is not None
        extractor.before("visits_1")
        assert sorted(extractor._futures) == ["visits_1", "visits_2"]
    finally:
        extractor.close()


def test_extracting_ahead_never_opens_the_warehouse(
    tmp_path: Path, warehouse_path: Path, materialize_sources
) -> None:
    """Another process may hold the DuckDB file (it holds the writer lock): extracting ahead
    must not need it, so it neither fails nor locks that process out. A new file is read, as
    in a real run; drops with a primary key (their precedence reads the warehouse) are never
    extracted ahead."""
    import subprocess
    import sys

    from pipelines.runtime.extract_ahead import extracts_ahead
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    source, drop = _keyless_source(tmp_path)
    assert materialize_sources(drop.parent / "sources").success  # state in the warehouse now
    (drop / "visits_2.csv").write_text("visit_id,page\n" + "".join(f"{i},q\n" for i in range(7)))
    keyed = (REPO / "sources" / "webshop_orders.yaml").read_text()
    (drop.parent / "keyed").mkdir()
    (drop.parent / "keyed" / "webshop_orders.yaml").write_text(keyed)
    (keyed_source,) = load_registry(drop.parent / "keyed").sources
    assert extracts_ahead(source.spec) and not extracts_ahead(keyed_source.spec)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); c.execute('checkpoint');"
            "print('open', flush=True); time.sleep(60)",
            str(warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        extractor, ahead = _ahead(source, Warehouse(warehouse_path))  # raises if it needed it
        assert ahead.source.sourcegate_files_read  # visits_2.csv was read
        extractor.close()
    finally:
        holder.kill()
        holder.wait()


def test_a_missing_salt_fails_each_source_not_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse that keeps no salt file and no `SOURCEGATE_PII_SALT`: each source reports
    the missing salt, as with `--parallel 1` (review of #15: the command crashed)."""
    _keyless_source(tmp_path)
    second = tmp_path / "sources" / "visits_two.yaml"
    second.write_text(
        (tmp_path / "sources" / "visits.yaml")
        .read_text()
        .replace("name: visits", "name: visits_two")
    )
    state = tmp_path / "state"
    monkeypatch.delenv("SOURCEGATE_PII_SALT", raising=False)
    monkeypatch.setenv("SOURCEGATE_STATE_DIR", str(state))
    outputs = []
    for parallel in (1, 2):
        from pipelines.cli.run import run_sources

        out = io.StringIO()
        with environment(
            {
                # a DuckDB file directly in the state folder counts as a warehouse of the
                # other kind, which needs the variable (`salt.keeps_file_salt`)
                "SOURCEGATE_WAREHOUSE": str(state / "marketing.duckdb"),
                "DAGSTER_HOME": str(tmp_path / f"dagster_{parallel}"),
            }
        ):
            assert run_sources([], tmp_path / "sources", out=out, parallel=parallel) == 1
        outputs.append(_summary(out.getvalue()))
    assert outputs[0] == outputs[1]
    assert sum("set SOURCEGATE_PII_SALT" in line for line in outputs[1]) == 2


def test_the_salt_is_made_where_hard_links_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.governance.salt import load_salt

    def no_links(*args: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.delenv("SOURCEGATE_PII_SALT", raising=False)
    monkeypatch.setattr(os, "link", no_links)
    state = tmp_path / ".marketing_dlt"
    salt = load_salt(state)
    assert len(salt) == 64 and load_salt(state) == salt
    assert [p.name for p in state.iterdir()] == ["pii_salt"]


def test_only_this_pid_spaces_dead_scratch_is_removed(tmp_path: Path) -> None:
    from pipelines.runtime.extract_ahead import (
        SCRATCH_FOLDER,
        _scratch_name,
        remove_abandoned_scratch,
    )
    from pipelines.runtime.run_processes import current_process
    from pipelines.runtime.warehouse import Warehouse

    warehouse = Warehouse(tmp_path / "wh" / "marketing.duckdb")
    root = warehouse.state_dir / SCRATCH_FOLDER
    space = _scratch_name(current_process()).rsplit("-", 1)[1]
    mine_alive = root / _scratch_name(current_process())
    mine_dead = root / f"4194000-123-{space}"  # no such pid
    other_space = root / "4194000-123-0badc0de"  # another container: cannot be judged here
    for folder in (mine_alive, mine_dead, other_space):
        folder.mkdir(parents=True)
    remove_abandoned_scratch(warehouse)
    assert sorted(p.name for p in root.iterdir()) == sorted([mine_alive.name, other_space.name])


def test_a_source_that_extracts_in_its_run_does_not_hold_back_the_next(tmp_path: Path) -> None:
    """A drop with a primary key extracts in its own run; the REST source after it still
    extracts ahead while it loads. Only `http:` settings close the window."""
    from pipelines.runtime.extract_ahead import ExtractAhead
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    sources = tmp_path / "sources"
    sources.mkdir()
    for index, extra in enumerate(["  primary_key: visit_id\n", "", ""]):
        drop = tmp_path / f"drop{index}"
        drop.mkdir()
        (drop / "v.csv").write_text("visit_id,page\n1,a\n")
        text = KEYLESS_DROP.format(name=f"visits_{index}", drop=drop)
        (sources / f"visits_{index}.yaml").write_text(text.replace("  table:", extra + "  table:"))
    loaded = load_registry(sources).sources
    assert [s.spec.files.primary_key for s in loaded] == ["visit_id", None, None]
    extractor = ExtractAhead(loaded, Warehouse(tmp_path / "wh" / "marketing.duckdb"), workers=2)
    try:
        extractor.before("visits_0")
        assert sorted(extractor._futures) == ["visits_1"]
        assert extractor.take("visits_0") is None  # it extracts in its own run
        extractor.before("visits_1")
        assert sorted(extractor._futures) == ["visits_1", "visits_2"]
    finally:
        extractor.close()
