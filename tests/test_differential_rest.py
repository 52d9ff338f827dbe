"""Fidelity to dlt: every REST configuration of the matrix, through plain dlt and sourcegate.

The harness (`tests/differential/harness.py`) compares outcome, tables, column names and types,
rows and incremental state; any difference fails the case with a readable account. The same
configurations with 1 and 8 workers must give identical results on the sourcegate side.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential.fake_rest import FakeRest, serve
from tests.differential.harness import (
    TOKEN_SECRET,
    RunResult,
    Table,
    compare_runs,
    rest_differential,
    rest_spec,
    sourcegate_runs,
    with_base_url,
)
from tests.differential.rest_matrix import CASES, Case

pytestmark = pytest.mark.dagster

CONCURRENT = [case for case in CASES if case.concurrency]
# sourcegate's results with 8 workers, kept from the matrix for the 1-vs-8 comparison
_EIGHT_WORKERS: dict[str, list[RunResult]] = {}


@pytest.fixture(scope="module")
def api() -> Iterator[FakeRest]:
    """One loopback API for the whole module."""
    with serve() as running:
        yield running


def test_matrix_is_broad_enough() -> None:
    assert len(CASES) >= 40
    text = repr([case.config for case in CASES])
    for paginator in ("page_number", "offset", "cursor", "json_link", "header_link"):
        assert f"'type': '{paginator}'" in text
    for needed in ("header_cursor", "single_page", "maximum_page", "total_path", "'POST'"):
        assert needed in text
    assert any(case.versions != (1,) for case in CASES)


def test_harness_reports_every_kind_of_difference() -> None:
    """No Dagster: the comparison itself, so a silent harness cannot pass the matrix."""
    row = {"id": 1, "at": "2026-03-01T00:00:00Z", "_dlt_id": "<set>", "_dlt_load_id": "<set>"}
    plain = RunResult(
        ok=True,
        tables={
            "items": Table(
                {
                    "id": "BIGINT",
                    "at": "TIMESTAMP WITH TIME ZONE",
                    "_dlt_id": "VARCHAR",
                    "_dlt_load_id": "VARCHAR",
                },
                [row, {**row, "id": 2}],
            ),
            "items__tags": Table({"value": "VARCHAR"}, [{"value": "a"}]),
        },
        incremental={"items": {"updated": "2026-03-01T00:00:00Z"}},
    )
    gate = RunResult(
        ok=False,
        failure_kind="HTTP 405",
        failure="HTTP 405",
        tables={
            "items": Table(
                {"id": "BIGINT", "at": "VARCHAR", "_dlt_load_id": "VARCHAR"},
                [{k: v for k, v in row.items() if k != "_dlt_id"}],
            )
        },
    )
    report = compare_runs([plain], [gate])
    assert {d.aspect for d in report.differences} == {
        "outcome",
        "tables",
        "columns",
        "types",
        "rows",
        "state",
    }, report.message()
    assert compare_runs([plain], [plain]).same


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_sourcegate_loads_what_plain_dlt_loads(case: Case, api: FakeRest, tmp_path: Path) -> None:
    report = rest_differential(case.config, tmp_path, api=api, versions=case.versions)
    _EIGHT_WORKERS[case.name] = report.right
    # the reference first: plain dlt loads rows (or fails where the case says it must)
    for run in report.left:
        if case.plain_fails:
            assert not run.ok, f"plain dlt was expected to fail on {case.name}"
        else:
            assert run.ok and any(t.rows for t in run.tables.values()), (
                f"plain dlt loaded nothing on {case.name}: {run.describe()}"
            )
    assert report.same, f"{case.name} ({case.covers})\n{report.message()}"


@pytest.mark.parametrize("case", CONCURRENT, ids=[case.name for case in CONCURRENT])
def test_one_and_eight_workers_give_identical_results(
    case: Case, api: FakeRest, tmp_path: Path
) -> None:
    config = with_base_url(case.config, api.base_url)

    def runs(workers: int) -> list[RunResult]:
        return sourcegate_runs(
            rest_spec(config, workers),
            tmp_path / f"workers_{workers}",
            runs=len(case.versions),
            before_run=lambda i: api.at_version(case.versions[i]),
            env={TOKEN_SECRET: api.token},
        )

    eight = _EIGHT_WORKERS.get(case.name) or runs(8)
    report = compare_runs(runs(1), eight, labels=("1 worker", "8 workers"))
    assert report.same, f"{case.name} ({case.covers})\n{report.message()}"
