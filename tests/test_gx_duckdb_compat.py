"""Regression tests for the two GX 1.24.1-on-DuckDB workarounds in quality/gx_duckdb_compat.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.spec.checks import MatchRegexCheck, NotMatchRegexCheck, NotNullCheck, UniqueCheck

SCRIPT = """
import json, sys
import great_expectations as gx
if sys.argv[2] == "patched":
    from quality import gx_duckdb_compat
    gx_duckdb_compat.install()
ctx = gx.get_context(mode="ephemeral")
ds = ctx.data_sources.add_sql(name="wh", connection_string="duckdb:///" + sys.argv[1])
batch = ds.add_table_asset(name="t", table_name="people", schema_name="crm") \\
    .add_batch_definition_whole_table("all").get_batch()
suite = gx.ExpectationSuite(name="s")
suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="country"))
regex = gx.expectations.ExpectColumnValuesToMatchRegex(column="country", regex="^[A-Z]{2}$")
suite.add_expectation(regex)
res = batch.validate(suite)
def raised(info):
    info = info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(v.get("raised_exception") for v in info.values() if isinstance(v, dict))
print(json.dumps([
    {"type": r.expectation_config.type, "success": r.success,
     "unexpected": r.result.get("unexpected_count"), "raised": raised(r.exception_info)}
    for r in res.results
]))
"""


@pytest.fixture(scope="module")
def people_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 people: 10 with no country, 9 more with a lower-case one."""
    path = tmp_path_factory.mktemp("gx") / "marketing.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema crm")
        con.execute(
            "create table crm.people as select i as id, case when i % 10 = 0 then null "
            "when i % 11 = 0 then 'de' else 'DE' end as country from range(100) t(i)"
        )
    return path


def _run(db: Path, mode: str, repo: Path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db), mode],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TQDM_DISABLE": "1", "PYTHONPATH": str(repo)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_upstream_bugs_are_still_there_without_the_workaround(people_db: Path, repo: Path) -> None:
    """If this starts failing, GX fixed #10738/#11579: the compat module can likely go."""
    results = _run(people_db, "plain", repo)
    assert all(r["raised"] and not r["success"] for r in results), results


def test_with_the_workaround_counts_are_right(people_db: Path, repo: Path) -> None:
    results = {r["type"]: r for r in _run(people_db, "patched", repo)}
    assert results["expect_column_values_to_not_be_null"]["unexpected"] == 10
    # 11, 22, ..., 99 are lower-case, minus the multiples of 10 (null, not counted): 9 rows
    assert results["expect_column_values_to_match_regex"]["unexpected"] == 9
    assert not any(r["raised"] for r in results.values())


def test_checker_runs_regex_both_ways_and_releases_the_file(people_db: Path) -> None:
    from quality.runner import WarehouseChecker

    checker = WarehouseChecker(f"duckdb:///{people_db}")
    outcomes = checker.run(
        "crm",
        "people",
        [
            NotNullCheck(expect="not_null", column="country"),
            MatchRegexCheck(expect="match_regex", column="country", regex="^[A-Z]{2}$"),
            NotMatchRegexCheck(expect="not_match_regex", column="country", regex="^[a-z]+$"),
            UniqueCheck(expect="unique", column="country"),
        ],
    )
    checker.close()
    got = {o.check_name: (o.passed, o.unexpected_count) for o in outcomes}
    assert got == {
        "not_null__country": (False, 10),
        "match_regex__country": (False, 9),
        "not_match_regex__country": (False, 9),
        "unique__country": (False, 90),
    }
    # a writer in this process can open the file again: no GX connection is left behind
    with duckdb.connect(str(people_db)) as con:
        assert con.sql("select count(*) from crm.people").fetchone() == (100,)
