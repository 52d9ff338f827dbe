"""A load that fails for good (a broken contract, a value of the wrong type) never wedges its
source: once the input is fixed, the next run loads fresh data, and the dropped package is
reported once, without row data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.runtime.warehouse import Warehouse
from tests.fake_api import FakeApi, json_response, serve

pytestmark = pytest.mark.dagster
TOKEN = "failed-loads-token-123"

REST_SPEC = """\
name: crm_people
description: People from the CRM API
owner: team:crm
contract: {contract}
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: CRM_PEOPLE_TOKEN}}}}
  resources:
    - name: people
      primary_key: id
      write_disposition: merge
      endpoint: {{path: v1/people, data_selector: data, paginator: single_page}}
"""


def _people_api(people: list[dict]) -> FakeApi:
    api = FakeApi(token=TOKEN)
    api.routes["/v1/people"] = lambda request: json_response(200, {"data": people})
    return api


@pytest.mark.parametrize(
    "page",
    ["rows", "arrow"],
    # a page whose values clash in type stays as dict rows, and dlt checks its contract while
    # normalizing, after the package was written; an Arrow page is checked while extracting
)
def test_a_frozen_contract_failure_does_not_block_the_next_run(
    page: str, tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_PEOPLE_TOKEN", TOKEN)
    sources = tmp_path / "sources"
    sources.mkdir()
    people = [{"id": i, "name": f"p{i}"} for i in range(1, 6)]
    with serve(_people_api(people)) as api:

        def run(contract: str):
            spec = REST_SPEC.format(contract=contract, base=api.base_url)
            (sources / "crm_people.yaml").write_text(spec)
            return materialize_sources(sources)

        frozen = "{tables: evolve, columns: freeze, data_type: freeze}"
        first = run(frozen)
        assert first.success, first.failure
        for person in people:
            person["segment"] = "vip"  # a new column the frozen contract rejects
        if page == "rows":
            people[1]["segment"] = 2
        failed = run(frozen)
        assert not failed.success
        assert "got a new column 'segment'" in failed.failure
        assert "nothing was loaded; the next run extracts fresh data" in failed.failure

        # the marketer relaxes the contract as the message says, and the API changes a value
        people[0]["name"] = "renamed"
        people[1]["segment"] = "vip"
        fixed = run("evolve")
        assert fixed.success, fixed.failure
        again = run("evolve")
        assert again.success, again.failure

    assert query("select id, name, segment from crm_people.people order by id") == [
        (1, "renamed", "vip"),
        *[(i, f"p{i}", "vip") for i in range(2, 6)],
    ]
    metadata = fixed.materializations[("crm_people", "people")]
    assert metadata["schema_changes"]["added"] == {"segment": "varchar"}
    # the failed run already dropped its package and said so: nothing is reported twice
    assert metadata.get("dropped_packages", []) == []
    assert again.materializations[("crm_people", "people")].get("dropped_packages", []) == []


FILES_SPEC = """\
name: pay_drop
description: Payments exported as CSV
owner: team:finance
files:
  bucket_url: {drop}
  file_glob: "payments_*.csv"
  format: csv
  table: payments
  primary_key: payment_id
  reader: {reader}
"""


def _files_source(tmp_path: Path, reader: str, extra: str = "") -> tuple[Path, Path]:
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    sources.mkdir(exist_ok=True)
    (sources / "pay_drop.yaml").write_text(FILES_SPEC.format(drop=drop, reader=reader) + extra)
    return drop, sources


def _payments(path: Path, rows: list[tuple[int, str]], mtime: float | None = None) -> None:
    path.write_text("payment_id,amount\n" + "".join(f"{i},{a}\n" for i, a in rows))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _columns(query) -> dict[str, str]:
    described = query("describe pay_drop.payments")
    return {name: data_type for name, data_type, *_ in described if not name.startswith("_dlt")}


@pytest.mark.parametrize("reader", ["fast", "rows"])
@pytest.mark.parametrize("hint", [True, False], ids=["hinted_bigint", "inferred_bigint"])
def test_a_text_value_in_an_integer_column_is_recorded_as_a_retyped_column(
    reader: str, hint: bool, tmp_path: Path, materialize_sources, query
) -> None:
    """dlt's rule on both readers: the value goes to a variant column, the rest loads."""
    drop, sources = _files_source(tmp_path, reader, "  columns: {amount: bigint}\n" if hint else "")
    _payments(drop / "payments_1.csv", [(1, "10"), (2, "20")], mtime=time.time() - 100)
    assert materialize_sources(sources).success

    _payments(drop / "payments_2.csv", [(3, "7 EUR"), (4, "40")], mtime=time.time() - 50)
    retyped = materialize_sources(sources)
    assert retyped.success, retyped.failure
    assert query("select payment_id, amount, amount__v_text from pay_drop.payments order by 1") == [
        (1, 10, None),
        (2, 20, None),
        (3, None, "7 EUR"),
        (4, 40, None),
    ]
    changes = retyped.materializations[("pay_drop", "payments")]["schema_changes"]
    assert changes == {
        "new_table": False,
        "added": {"amount__v_text": "varchar"},
        "changed": {"amount": "bigint -> bigint + amount__v_text (varchar)"},
    }
    assert _columns(query) == {
        "payment_id": "BIGINT",
        "amount": "BIGINT",
        "_source_file": "VARCHAR",
        "amount__v_text": "VARCHAR",
    }

    _payments(drop / "payments_2.csv", [(3, "7"), (4, "40")])  # the export is fixed
    fixed = materialize_sources(sources)
    assert fixed.success, fixed.failure
    assert fixed.materializations[("pay_drop", "payments")]["files_read"] == ["payments_2.csv"]
    assert query("select payment_id, amount, amount__v_text from pay_drop.payments order by 1") == [
        (1, 10, None),
        (2, 20, None),
        (3, 7, None),
        (4, 40, None),
    ]


@pytest.mark.parametrize("reader", ["fast", "rows"])
def test_a_text_value_under_frozen_types_fails_once_and_the_fixed_file_loads(
    reader: str, tmp_path: Path, materialize_sources, query
) -> None:
    contract = "contract: {tables: evolve, columns: evolve, data_type: freeze}\n"
    drop, sources = _files_source(tmp_path, reader)
    (sources / "pay_drop.yaml").write_text((sources / "pay_drop.yaml").read_text() + contract)
    _payments(drop / "payments_1.csv", [(1, "10"), (2, "20")], mtime=time.time() - 100)
    assert materialize_sources(sources).success

    _payments(drop / "payments_2.csv", [(3, "7 EUR"), (4, "40")], mtime=time.time() - 50)
    failed = materialize_sources(sources)
    assert not failed.success
    assert failed.failure == (
        "pay_drop: load failed: schema contract: column 'amount' of table 'payments' received "
        "text values instead of bigint, but data types are frozen; fix the export or set "
        "contract.data_type to evolve; nothing was loaded; the next run extracts fresh data"
    )
    assert query("select payment_id, amount from pay_drop.payments order by 1") == [
        (1, 10),
        (2, 20),
    ]

    _payments(drop / "payments_2.csv", [(3, "7"), (4, "40")])
    fixed = materialize_sources(sources)
    assert fixed.success, fixed.failure
    metadata = fixed.materializations[("pay_drop", "payments")]
    assert metadata["files_read"] == ["payments_2.csv"]
    assert metadata["dropped_packages"] == []  # the failed run dropped it and said so
    assert query("select payment_id, amount from pay_drop.payments order by 1") == [
        (1, 10),
        (2, 20),
        (3, 7),
        (4, 40),
    ]


# The reader as it was before variant columns: `7 EUR` reaches the load as text, so the load of
# the bigint column fails. The child is killed as loading starts, leaving that package pending,
# as a crash (or an older version of sourcegate) leaves it.
OLD_READER_KILLED_AT_LOAD = r"""
import importlib, os, signal
from pathlib import Path
import pipelines.kinds.files.reader as reader
reader.conform_to_table = lambda table, name, hints: table
trace = importlib.import_module("dlt.pipeline.trace")
class KillAtLoad:
    def on_start_trace(self, *a): pass
    def on_start_trace_step(self, trace, step, pipeline):
        if step == "load": os.kill(os.getpid(), signal.SIGKILL)
    def on_end_trace_step(self, *a): pass
    def on_end_trace(self, *a): pass
trace.TRACKING_MODULES.append(KillAtLoad())
from dagster import materialize
from assets.factory import definitions_for_sources
from pipelines.spec.registry import load_registry
defs = definitions_for_sources(
    load_registry(Path(os.environ["SOURCES"])).sources, os.environ["SOURCEGATE_WAREHOUSE"]
)
materialize(list(defs.assets), resources=defs.resources, raise_on_error=False)
"""


def test_a_left_package_that_cannot_load_is_dropped_and_reported_once(
    tmp_path: Path, warehouse_path: Path, materialize_sources, query, repo: Path
) -> None:
    drop, sources = _files_source(tmp_path, "fast")
    _payments(drop / "payments_1.csv", [(1, "10"), (2, "20")], mtime=time.time() - 100)
    assert materialize_sources(sources).success
    _payments(drop / "payments_2.csv", [(3, "7 EUR"), (4, "40")], mtime=time.time() - 50)
    child = subprocess.run(
        [sys.executable, "-c", OLD_READER_KILLED_AT_LOAD],
        cwd=repo,
        env={**os.environ, "SOURCES": str(sources)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    _payments(drop / "payments_2.csv", [(3, "7"), (4, "40")])  # the export is fixed
    recovered = materialize_sources(sources)
    assert recovered.success, recovered.failure
    metadata = recovered.materializations[("pay_drop", "payments")]
    [dropped] = metadata["dropped_packages"]
    assert dropped["reason"] == (
        "column 'amount' of table 'payments' got a value that is not a valid bigint; fix the "
        "export, or declare the column as text in the source file's `columns`"
    )
    assert dropped["changed_tables"] == []
    assert "7 EUR" not in json.dumps(metadata["dropped_packages"])  # no row data in metadata
    assert metadata["files_read"] == ["payments_2.csv"]
    assert query("select payment_id, amount from pay_drop.payments order by 1") == [
        (1, 10),
        (2, 20),
        (3, 7),
        (4, 40),
    ]
    again = materialize_sources(sources)
    assert again.success, again.failure
    assert again.materializations[("pay_drop", "payments")]["dropped_packages"] == []


CLICKS_SPEC = """\
name: web_clicks
description: Clicks and sessions since the last run
owner: team:web
retries: {{max_retries: 0}}
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: CRM_PEOPLE_TOKEN}}}}
  resource_defaults:
    primary_key: id
    write_disposition: append
  resources:
    - name: sessions
      endpoint:
        path: v1/sessions
        data_selector: data
        paginator: single_page
        params: {{since: {{type: incremental, cursor_path: seq, initial_value: 0}}}}
    - name: clicks
      columns: {{weight: {{data_type: decimal, precision: 4, scale: 1}}}}
      endpoint:
        path: v1/clicks
        data_selector: data
        paginator: single_page
        params: {{since: {{type: incremental, cursor_path: seq, initial_value: 0}}}}
"""


def test_a_partly_loaded_append_package_is_undone_so_no_row_lands_twice(
    tmp_path: Path, warehouse_path: Path, materialize_sources, query, monkeypatch
) -> None:
    """One table's job finished, the other's failed for good: the finished rows are removed,
    so the next run, which extracts the same data again, lands every row exactly once."""
    monkeypatch.setenv("CRM_PEOPLE_TOKEN", TOKEN)
    records = {
        "/v1/sessions": [{"id": i, "seq": i, "pages": i * 2} for i in range(1, 6)],
        "/v1/clicks": [{"id": i, "seq": i, "weight": i + 0.5} for i in range(1, 6)],
    }
    api = FakeApi(token=TOKEN)
    for path, rows in records.items():
        api.routes[path] = lambda request, rows=rows: json_response(
            200, {"data": [r for r in rows if r["seq"] > int(request.query["since"])]}
        )
    sources = tmp_path / "sources"
    sources.mkdir()
    with serve(api):
        (sources / "web_clicks.yaml").write_text(CLICKS_SPEC.format(base=api.base_url))
        assert materialize_sources(sources).success
        records["/v1/sessions"] += [{"id": i, "seq": i, "pages": i * 2} for i in range(6, 9)]
        # dlt normalizes it; the warehouse refuses it (DECIMAL(4,1)) when the job loads
        records["/v1/clicks"] += [{"id": 6, "seq": 6, "weight": 123456.5}]
        failed = materialize_sources(sources)
        # the sessions job had finished when the clicks job failed: its rows were in the table
        state_dir = Warehouse.from_setting(warehouse_path).state_dir
        aborted = list(state_dir.glob("pipelines/*/load/loaded/*/completed_jobs/sessions.*"))
        after_failure = query("select count(*) from web_clicks.sessions")
        records["/v1/clicks"][-1]["weight"] = 6.5  # the API is fixed
        fixed = materialize_sources(sources)

    assert not failed.success
    assert failed.failure.startswith("web_clicks: load failed: "), failed.failure
    assert "123456" not in failed.failure
    assert failed.failure.endswith("nothing was loaded; the next run extracts fresh data")
    assert len(aborted) == 1
    assert after_failure == [(5,)]  # and its rows were removed again
    assert fixed.success, fixed.failure
    assert query("select id, count(*) from web_clicks.sessions group by id order by id") == [
        (i, 1) for i in range(1, 9)
    ]
    assert query("select id, weight from web_clicks.clicks order by id") == [
        (i, i + 0.5) for i in range(1, 7)
    ]


REPLACE_SPEC = """\
name: web_scores
description: Scores from the web API, replaced on every load
owner: team:web
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: CRM_PEOPLE_TOKEN}}}}
  resources:
    - name: scores
      write_disposition: replace
      columns: {{score: {{data_type: decimal, precision: 4, scale: 1}}}}
      endpoint: {{path: v1/scores, data_selector: data, paginator: single_page}}
"""


def test_a_replace_table_whose_load_fails_keeps_its_earlier_rows(
    tmp_path: Path, materialize_sources, query, monkeypatch
) -> None:
    """dlt empties a replace table before loading it, unless it loads through staging."""
    monkeypatch.setenv("CRM_PEOPLE_TOKEN", TOKEN)
    scores = [{"id": i, "score": i + 0.5} for i in range(1, 6)]
    api = FakeApi(token=TOKEN)
    api.routes["/v1/scores"] = lambda request: json_response(200, {"data": scores})
    sources = tmp_path / "sources"
    sources.mkdir()
    with serve(api):
        (sources / "web_scores.yaml").write_text(REPLACE_SPEC.format(base=api.base_url))
        assert materialize_sources(sources).success
        before = query("select id, score from web_scores.scores order by id")
        scores[:] = [{"id": i, "score": 123456.5 + i} for i in range(1, 8)]  # over DECIMAL(4,1)
        failed = materialize_sources(sources)

    assert not failed.success
    assert failed.failure.startswith("web_scores: load failed: "), failed.failure
    assert failed.failure.endswith("; nothing was loaded; the next run extracts fresh data")
    assert before == [(i, i + 0.5) for i in range(1, 6)]
    assert query("select id, score from web_scores.scores order by id") == before


def _fail_load_job(monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    """The load job of table ``failing`` fails for good, as for a value the warehouse refuses.

    The package's other jobs, started with it, finish just after it failed: dlt then completes
    them but starts no followup job (the SQL that merges or swaps in a staged table)."""
    import threading

    from dlt.common.destination.exceptions import DestinationTerminalException
    from dlt.destinations import insert_job_client

    run = insert_job_client.InsertValuesLoadJob.run
    failed = threading.Event()

    def run_or_fail(job: Any) -> None:
        if job.load_table_name == failing:
            failed.set()
            raise DestinationTerminalException("Conversion Error: a value the table refuses")
        if not job.load_table_name.startswith("_dlt"):
            failed.wait(timeout=60)
            time.sleep(0.2)  # until dlt has seen the failure
        run(job)

    monkeypatch.setattr(insert_job_client.InsertValuesLoadJob, "run", run_or_fail)


def _duckdb_pipeline(path: Path, **destination: str) -> Any:
    import dlt

    return dlt.pipeline(
        "undo_test",
        pipelines_dir=str(path.parent / "dlt"),
        destination=dlt.destinations.duckdb(str(path), **destination),
        dataset_name="shop",
    )


def _counts(pipeline: Any, tables: tuple[str, ...]) -> dict[str, int]:
    with pipeline.sql_client() as client:
        return {
            table: client.execute_sql(f"select count(*) from {table}")[0][0] for table in tables
        }


NESTED = ("orders", "orders__lines", "orders__lines__taxes", "refunds")


def _shop(first: int) -> Any:
    import dlt

    @dlt.source(name="shop")
    def shop() -> Any:
        @dlt.resource(write_disposition="append")
        def orders() -> Any:
            yield [
                {
                    "id": i,
                    "lines": [
                        {"sku": f"{i}-{n}", "taxes": [{"rate": n}, {"rate": n + 1}]}
                        for n in range(2)
                    ],
                }
                for i in range(first, first + 3)
            ]

        @dlt.resource(write_disposition="append")
        def refunds() -> Any:
            yield [{"id": first, "amount": 5}]

        return orders, refunds

    return shop()


@pytest.mark.parametrize("failing", ["refunds", "orders", "orders__lines"])
def test_a_dropped_append_package_leaves_no_rows_in_nested_tables(
    failing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nested tables have no `_dlt_load_id`: their rows of a dropped package are found through
    their parents, or, where the parent's job failed, by having no parent. The next run, which
    loads the same data again, then lands every row exactly once."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    from pipelines.runtime.failed_packages import abort_failed_packages, describe_drop

    path = tmp_path / "warehouse.duckdb"  # named unlike the dataset, which DuckDB finds ambiguous
    _duckdb_pipeline(path).run(_shop(0), loader_file_format="insert_values")
    before = {"orders": 3, "orders__lines": 6, "orders__lines__taxes": 12, "refunds": 1}
    assert _counts(_duckdb_pipeline(path), NESTED) == before

    with monkeypatch.context() as patch:
        _fail_load_job(patch, failing)
        pipeline = _duckdb_pipeline(path)
        with pytest.raises(PipelineStepFailed):
            pipeline.run(_shop(3), loader_file_format="insert_values")
    [load_id] = pipeline.list_normalized_load_packages()
    jobs = pipeline.get_load_package_info(load_id).jobs
    assert {job.job_file_info.table_name for job in jobs["completed_jobs"]} >= set(NESTED) - {
        failing
    }
    written = _counts(pipeline, NESTED)
    assert all(written[t] > before[t] for t in NESTED if t != failing)  # the finished jobs' rows

    dropped = abort_failed_packages(pipeline, "a value the table refuses")
    assert [package.changed_tables for package in dropped] == [[]]
    assert describe_drop(dropped) == "nothing was loaded; the next run extracts fresh data"
    assert _counts(pipeline, NESTED) == before

    _duckdb_pipeline(path).run(_shop(3), loader_file_format="insert_values")
    assert _counts(pipeline, NESTED) == {table: 2 * count for table, count in before.items()}
    with pipeline.sql_client() as client:
        for child, parent in (
            ("orders__lines", "orders"),
            ("orders__lines__taxes", "orders__lines"),
        ):
            orphans = client.execute_sql(
                f"select count(*) from {child} as c where not exists "
                f"(select 1 from {parent} as p where p._dlt_id = c._dlt_parent_id)"
            )
            assert orphans == [(0,)], child


@pytest.mark.parametrize(
    "strategy, changed",
    [("insert-from-staging", []), ("truncate-and-insert", ["contacts", "refused"])],
)
def test_a_failed_replace_is_reported_changed_only_when_it_was(
    strategy: str, changed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through staging a replace table is swapped in only by the SQL job that never ran; with
    `truncate-and-insert` dlt emptied it before loading. The message says which happened."""
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    from pipelines.runtime.failed_packages import abort_failed_packages, describe_drop

    @dlt.source(name="crm")
    def crm(n: int) -> Any:
        contacts = dlt.resource([{"id": i} for i in range(n)], name="contacts")
        refused = dlt.resource([{"id": 1}], name="refused")
        return contacts, refused

    path = tmp_path / "warehouse.duckdb"
    settings = {"write_disposition": "replace", "loader_file_format": "insert_values"}
    _duckdb_pipeline(path, replace_strategy=strategy).run(crm(5), **settings)
    with monkeypatch.context() as patch:
        _fail_load_job(patch, "refused")
        failing = _duckdb_pipeline(path, replace_strategy=strategy)
        with pytest.raises(PipelineStepFailed):
            failing.run(crm(2), **settings)
    dropped = abort_failed_packages(failing, "a value the table refuses")

    rows = _counts(failing, ("contacts", "refused"))
    assert [package.changed_tables for package in dropped] == [changed]
    if changed:
        assert rows["refused"] == 0
        assert describe_drop(dropped) == (
            "contacts, refused changed before the failure; the next run extracts fresh data "
            "and loads them again"
        )
    else:
        assert rows == {"contacts": 5, "refused": 1}  # as before the failed load
        assert describe_drop(dropped) == "nothing was loaded; the next run extracts fresh data"
