"""`references` checks: orphans counted by GX with SQL pushdown, on DuckDB and PostgreSQL.

The same small warehouse is built on both: `shop.profiles` (keys 1-5 and one NULL key),
`shop.events` (8 rows) and, for a reference across sources, `crm.contacts` (keys 1, 2, 3, 7;
`email` and `handle` both hold the same four addresses).

| event_id | profile_id | profile_ref (text) | parent_id | contact_email = buyer_ref |
|---|---|---|---|---|
| 1 | 1 | '1' | NULL | a@example.com |
| 2 | 2 | '2' | 1 | b@example.com |
| 3 | NULL | NULL | 1 | NULL |
| 4 | 7 | '7' | 2 | zz@example.com |
| 5 | 7 | '7' | 99 | zz@example.com |
| 6 | 9 | '9' | NULL | yy@example.com |
| 7 | 3 | '3' | 4 | c@example.com |
| 8 | NULL | NULL | NULL | NULL |

- profile_id -> profiles.id: 6 non-null values; rows 4, 5 and 6 are orphans (3 rows, 50%).
  The NULL key in profiles must not hide them (`x NOT IN (..., NULL)` is never true).
- profile_id -> crm.contacts.contact_id: only row 6 (9).
- parent_id -> events.event_id (the same table): only row 5 (99), of 5 non-null.
- contact_email -> crm.contacts.email: rows 4, 5, 6 (zz@ twice, yy@ once).
- crm.contacts.contact_id -> shop.events.profile_id: all four found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from pipelines.spec.checks import CheckSpec, NotNullCheck, ReferencesCheck
from tests.postgres_server import find_bin_dir, postgres_server

PROFILES = [(1, "gold"), (2, "gold"), (3, "silver"), (4, "silver"), (5, "bronze"), (None, "x")]
# event_id, profile_id, profile_ref, parent_id, contact_email, buyer_ref (the same emails)
EVENTS = [
    (1, 1, "1", None, "a@example.com", "a@example.com"),
    (2, 2, "2", 1, "b@example.com", "b@example.com"),
    (3, None, None, 1, None, None),
    (4, 7, "7", 2, "zz@example.com", "zz@example.com"),
    (5, 7, "7", 99, "zz@example.com", "zz@example.com"),
    (6, 9, "9", None, "yy@example.com", "yy@example.com"),
    (7, 3, "3", 4, "c@example.com", "c@example.com"),
    (8, None, None, None, None, None),
]
CONTACTS = [
    (i, f"{c}@example.com", f"{c}@example.com") for i, c in zip((1, 2, 3, 7), "abcd", strict=True)
]

DDL = [
    "create schema shop",
    "create schema crm",
    "create table shop.profiles (id bigint, tier varchar)",
    "create table shop.events (event_id bigint, profile_id bigint, profile_ref varchar, "
    "parent_id bigint, contact_email varchar, buyer_ref varchar)",
    "create table crm.contacts (contact_id bigint, email varchar, handle varchar)",
]


def _rows_sql(table: str, rows: list[tuple]) -> str:
    def literal(value: object) -> str:
        return "null" if value is None else repr(value) if isinstance(value, str) else str(value)

    values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    return f"insert into {table} values {values}"


STATEMENTS = [
    *DDL,
    _rows_sql("shop.profiles", PROFILES),
    _rows_sql("shop.events", EVENTS),
    _rows_sql("crm.contacts", CONTACTS),
]


def _duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("refs") / "marketing.duckdb"
    with duckdb.connect(str(path)) as con:
        for statement in STATEMENTS:
            con.execute(statement)
    return f"duckdb:///{path}"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL 15 server holding the same tables (skipped without binaries)."""
    if find_bin_dir() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL server binaries are not installed")
    with postgres_server() as url:
        engine = sa.create_engine(url)
        with engine.begin() as con:
            for statement in STATEMENTS:
                con.execute(sa.text(statement))
        engine.dispose()
        yield url


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test warehouse on each engine."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return _duckdb_url(tmp_path_factory)


def _run(url: str, checks: list[CheckSpec], schema: str = "shop", table: str = "events") -> list:
    from quality.runner import WarehouseChecker

    checker = WarehouseChecker(url)
    try:
        return checker.run(schema, table, checks)
    finally:
        checker.close()


def ref(column: str, to: str, **extra: object) -> ReferencesCheck:
    return ReferencesCheck(expect="references", column=column, to=to, **extra)


def test_orphans_are_counted_per_row_and_nulls_ignored(warehouse_url: str) -> None:
    (outcome,) = _run(warehouse_url, [ref("profile_id", "profiles.id")])
    assert not outcome.passed and outcome.error is None
    assert outcome.check_name == "references__profile_id"
    assert outcome.unexpected_count == 3  # rows 4, 5, 6; the two NULL profile_ids are ignored
    assert outcome.unexpected_percent == pytest.approx(50.0)  # of the 6 non-null rows
    assert sorted(outcome.orphan_keys) == [7, 9]  # ids, not personal: shown as they are
    assert outcome.value_shapes == ["9"]


def test_all_present_passes(warehouse_url: str) -> None:
    # the target column has NULLs too (rows 3 and 8); they neither match nor hide anything
    (outcome,) = _run(
        warehouse_url, [ref("contact_id", "shop.events.profile_id")], "crm", "contacts"
    )
    assert outcome.passed and outcome.unexpected_count == 0
    assert outcome.error is None and outcome.orphan_keys == []


def test_a_reference_to_the_same_table(warehouse_url: str) -> None:
    (outcome,) = _run(warehouse_url, [ref("parent_id", "events.event_id")])
    assert (outcome.passed, outcome.unexpected_count, outcome.orphan_keys) == (False, 1, [99])
    assert outcome.unexpected_percent == pytest.approx(20.0)


def test_mostly_is_honoured(warehouse_url: str) -> None:
    outcomes = _run(
        warehouse_url,
        [
            ref("profile_id", "profiles.id", mostly=0.5),
            ref("profile_id", "profiles.id", mostly=0.51),
        ],
    )
    # 3 of 6 non-null values are found: exactly 50%
    assert [(o.passed, o.unexpected_count) for o in outcomes] == [(True, 3), (False, 3)]


def test_severity_is_carried(warehouse_url: str) -> None:
    (outcome,) = _run(warehouse_url, [ref("profile_id", "profiles.id", severity="warn")])
    assert outcome.severity == "warn" and not outcome.passed


def test_another_sources_table(warehouse_url: str) -> None:
    (outcome,) = _run(warehouse_url, [ref("profile_id", "crm.contacts.contact_id")])
    assert (outcome.passed, outcome.unexpected_count, outcome.orphan_keys) == (False, 1, [9])


def test_text_keys_against_number_keys_compare_as_text(warehouse_url: str) -> None:
    (outcome,) = _run(warehouse_url, [ref("profile_ref", "profiles.id")])
    assert outcome.error is None, outcome.error
    assert (outcome.unexpected_count, sorted(outcome.orphan_keys)) == (3, ["7", "9"])


def test_a_missing_target_is_a_clear_error_and_other_checks_still_run(
    warehouse_url: str,
) -> None:
    outcomes = _run(
        warehouse_url,
        [
            ref("profile_id", "profile.id"),
            ref("profile_id", "profiles.key"),
            ref("profile_id", "billing.accounts.id"),
            NotNullCheck(expect="not_null", column="profile_id"),
        ],
    )
    missing_table, missing_column, missing_source, not_null = outcomes
    assert not missing_table.passed and missing_table.unexpected_count is None
    assert missing_table.error == (
        "references: table shop.profile does not exist in the warehouse; load source shop "
        "first, or fix to: in the check"
    )
    assert missing_column.error == (
        "references: table shop.profiles has no column key; its columns are: id, tier"
    )
    assert "table billing.accounts does not exist" in missing_source.error
    assert (not_null.passed, not_null.unexpected_count, not_null.error) == (False, 2, None)


def test_personal_keys_are_never_shown_raw(warehouse_url: str) -> None:
    by_name, by_values = _run(
        warehouse_url,
        [
            ref("contact_email", "crm.contacts.email"),
            # names that say nothing, holding emails: judged by the orphan keys themselves
            ref("buyer_ref", "crm.contacts.handle"),
        ],
    )
    for outcome in (by_name, by_values):
        assert (outcome.passed, outcome.unexpected_count) == (False, 3)  # zz@ twice, yy@ once
        assert outcome.orphan_keys == []
        assert outcome.value_shapes == ["XX@XXXXXXX.XXX"]


def test_the_metric_and_expectation_register_once() -> None:
    from great_expectations.expectations.registry import (
        _registered_expectations,
        _registered_metrics,
    )

    import quality.references as references
    from quality.expectations import to_expectation

    first = to_expectation(ref("profile_id", "profiles.id"), source="shop")
    second = to_expectation(ref("profile_id", "crm.contacts.contact_id"), source="shop")
    assert type(first) is type(second) is references.ExpectColumnValuesToBeInTableColumn
    assert (second.to_schema, second.to_table, second.to_column) == (
        "crm",
        "contacts",
        "contact_id",
    )
    assert (first.to_schema, first.to_table) == ("shop", "profiles")
    registered = _registered_expectations["expect_column_values_to_be_in_table_column"]
    assert registered is references.ExpectColumnValuesToBeInTableColumn
    providers = _registered_metrics[f"{references.METRIC}.condition"]["providers"]
    assert providers["SqlAlchemyExecutionEngine"][0] is references.ColumnValuesInTableColumn


EVENTS_SOURCE = """\
name: ref_events
description: Events that point at profiles
owner: team:marketing-ops
files:
  bucket_url: {drop}
  file_glob: "events*.csv"
  format: csv
  table: events
  primary_key: event_id
checks:
  events:
    - {{expect: references, column: profile_id, to: ref_profiles.profiles.id}}
    - {{expect: references, column: parent_event_id, to: events.event_id, severity: warn}}
"""
PROFILES_SOURCE = """\
name: ref_profiles
description: Profiles the events point at
owner: team:marketing-ops
files:
  bucket_url: {drop}
  file_glob: "profiles*.csv"
  format: csv
  table: profiles
  primary_key: id
"""


@pytest.fixture
def file_sources(tmp_path: Path) -> Path:
    """Two file sources in a temp folder: ref_events references ref_profiles and itself."""
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    sources.mkdir()
    (drop / "profiles.csv").write_text("id,plan\n1,gold\n2,gold\n3,silver\n4,silver\n5,bronze\n")
    # profile_id: 7, 7 and 9 are orphans, row 3 is empty; parent_event_id: only 99 is an orphan
    (drop / "events.csv").write_text(
        "event_id,profile_id,parent_event_id\n1,1,\n2,2,1\n3,,1\n4,7,2\n5,7,99\n6,9,\n7,3,4\n"
    )
    (sources / "ref_events.yaml").write_text(EVENTS_SOURCE.format(drop=drop))
    (sources / "ref_profiles.yaml").write_text(PROFILES_SOURCE.format(drop=drop))
    return sources


def test_check_specs_name_the_table_they_read(file_sources: Path) -> None:
    from dagster import AssetKey

    from pipelines.spec.registry import load_source_file
    from quality.asset_checks import check_specs_for

    loaded = load_source_file(file_sources / "ref_events.yaml", {"marketing"})
    assert loaded.errors == []
    other, same = check_specs_for(loaded.source)
    assert other.metadata["references"] == "ref_profiles.profiles.id"
    assert [dep.asset_key for dep in other.additional_deps] == [
        AssetKey(["ref_profiles", "profiles"])
    ]
    # a check on events reading events: Dagster refuses a check depending on its own asset
    assert same.metadata["references"] == "ref_events.events.event_id"
    assert list(same.additional_deps) == []
    assert "every non-null profile_id is found in ref_profiles.profiles.id" in other.description


@pytest.mark.dagster
def test_a_real_run_reports_orphans_as_check_metadata(
    file_sources: Path, materialize_sources
) -> None:
    # the check reads the other source's table, so that source loads first (a separate run)
    assert materialize_sources(file_sources, ["ref_profiles"]).success
    outcome = materialize_sources(file_sources, ["ref_events"])
    assert outcome.success, outcome.failure
    profile = outcome.checks[("ref_events", "events", "references__profile_id")]
    metadata = {key: value.value for key, value in profile.metadata.items()}
    assert not profile.passed
    assert metadata["unexpected_count"] == 3
    assert metadata["unexpected_percent"] == pytest.approx(50.0)
    assert sorted(metadata["orphan_keys"]) == [7, 9]
    parent = outcome.checks[("ref_events", "events", "references__parent_event_id")]
    assert not parent.passed and parent.severity.value == "WARN"
    assert parent.metadata["unexpected_count"].value == 1
    assert parent.metadata["orphan_keys"].value == [99]


def test_orphan_keys_show_only_plain_identifiers_never_a_person() -> None:
    from quality.references import visible_orphan_keys

    check = ReferencesCheck(expect="references", column="person_ref", to="crm.people.id")
    found = ["99", "mario.rossi@example.com", "X-77", "RSSMRA85T10A562S", "+39 333 1234567"]
    found += ["Mario Rossi", "Giulia", "cus_0042", 7]
    assert visible_orphan_keys(check, "events", found, 10) == ["99", "X-77", "cus_0042", 7]
    by_email = ReferencesCheck(expect="references", column="email", to="crm.people.email")
    assert visible_orphan_keys(by_email, "events", ["cus_0042"], 10) == []


def test_a_run_loads_the_referenced_source_before_the_one_that_checks_against_it() -> None:
    from pipelines.cli.run import _referenced_first
    from pipelines.spec.models import SourceSpec
    from pipelines.spec.registry import LoadedSource

    def source(name: str, to: str | None = None) -> LoadedSource:
        spec = {
            "name": name,
            "description": "test",
            "owner": "team:test",
            "files": {"bucket_url": "data/samples", "format": "csv", "table": "t"},
        }
        if to:
            spec["checks"] = {"t": [{"expect": "references", "column": "a", "to": to}]}
        return LoadedSource(SourceSpec.model_validate(spec), Path(f"{name}.yaml"))

    chosen = [source("a_events", "z_people.t.id"), source("m_mid"), source("z_people")]
    assert [s.name for s in _referenced_first(chosen)] == ["z_people", "a_events", "m_mid"]
    # a cycle keeps the file order rather than failing
    cycle = [source("a_one", "b_two.t.id"), source("b_two", "a_one.t.id")]
    assert [s.name for s in _referenced_first(cycle)] == ["b_two", "a_one"]
