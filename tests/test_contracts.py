"""Schema contracts: evolve records new columns, freeze rejects them and keeps the table intact."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.dagster

SPEC = """\
name: loyalty_members
description: Loyalty programme members, dropped as CSV
owner: team:crm
files:
  bucket_url: {drop}
  file_glob: "members_*.csv"
  format: csv
  table: members
  primary_key: member_id
contract: {contract}
checks:
  members:
    - {{expect: unique, column: member_id}}
"""


def _setup(tmp_path: Path, contract: str) -> tuple[Path, Path]:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "members_1.csv").write_text("member_id,tier\n1,gold\n2,silver\n3,bronze\n")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "loyalty_members.yaml").write_text(SPEC.format(drop=drop, contract=contract))
    return drop, sources


def test_evolve_adds_the_new_column_and_records_it(tmp_path: Path, materialize_sources, query):
    drop, sources = _setup(tmp_path, "evolve")
    first = materialize_sources(sources)
    assert first.success, first.failure
    assert first.materializations[("loyalty_members", "members")]["schema_changes"]["new_table"]

    (drop / "members_2.csv").write_text("member_id,tier,points\n4,gold,120\n")
    second = materialize_sources(sources)
    assert second.success, second.failure
    changes = second.materializations[("loyalty_members", "members")]["schema_changes"]
    assert changes == {"new_table": False, "added": {"points": "bigint"}, "changed": {}}
    assert query("select member_id, points from loyalty_members.members order by 1") == [
        (1, None),
        (2, None),
        (3, None),
        (4, 120),
    ]


def test_freeze_rejects_a_new_column_and_keeps_the_earlier_rows(
    tmp_path: Path, materialize_sources, query
):
    drop, sources = _setup(tmp_path, "{tables: evolve, columns: freeze, data_type: freeze}")
    assert materialize_sources(sources).success
    before = query("select * from loyalty_members.members order by member_id")

    (drop / "members_1.csv").write_text("member_id,tier\n1,platinum\n2,silver\n3,bronze\n")
    (drop / "members_2.csv").write_text("member_id,tier,points\n4,gold,120\n")
    outcome = materialize_sources(sources)
    assert not outcome.success
    assert outcome.failure == (
        "loyalty_members: load failed: schema contract: table 'members' got a new column "
        "'points' (bigint), but columns are frozen; set contract.columns to evolve to accept "
        "it, or fix the export; nothing was loaded; the next run extracts fresh data"
    )
    assert query("select * from loyalty_members.members order by member_id") == before


# The shorthands (issue 11): a shorthand sets columns and data types; tables always evolve, so
# a new source loads. The mapping form is dlt's, passed through.

MEMBERS_2 = "member_id,tier,points\n4,gold,120\n"


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        ("evolve", {"tables": "evolve", "columns": "evolve", "data_type": "evolve"}),
        ("freeze", {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}),
        ("discard_row", {"tables": "evolve", "columns": "discard_row", "data_type": "discard_row"}),
        (
            "discard_value",
            {"tables": "evolve", "columns": "discard_value", "data_type": "discard_value"},
        ),
        ("{columns: freeze}", {"tables": "evolve", "columns": "freeze", "data_type": "evolve"}),
        (
            "{tables: freeze, columns: discard_row, data_type: discard_value}",
            {"tables": "freeze", "columns": "discard_row", "data_type": "discard_value"},
        ),
    ],
)
def test_what_each_contract_form_hands_to_dlt(tmp_path: Path, contract: str, expected) -> None:
    from pipelines.spec.registry import load_registry

    _, sources = _setup(tmp_path, contract)
    registry = load_registry(sources, deep=False)
    assert registry.errors == []
    assert registry.sources[0].spec.schema_contract() == expected


def test_the_freeze_shorthand_loads_a_new_source_then_rejects_a_new_column(
    tmp_path: Path, materialize_sources, query
):
    drop, sources = _setup(tmp_path, "freeze")
    first = materialize_sources(sources)
    assert first.success, first.failure  # was: "a new table 'members' appeared, but tables ..."
    assert query("select count(*) from loyalty_members.members") == [(3,)]

    (drop / "members_2.csv").write_text(MEMBERS_2)
    second = materialize_sources(sources)
    assert not second.success
    assert "got a new column 'points' (bigint), but columns are frozen" in second.failure
    assert query("select count(*) from loyalty_members.members") == [(3,)]


@pytest.mark.parametrize(
    ("contract", "rows"),
    [
        ("discard_row", [(1, "gold"), (2, "silver"), (3, "bronze")]),
        ("discard_value", [(1, "gold"), (2, "silver"), (3, "bronze"), (4, "gold")]),
    ],
)
def test_the_discard_shorthands_load_a_new_source_then_drop_what_does_not_fit(
    tmp_path: Path, materialize_sources, query, contract: str, rows
):
    drop, sources = _setup(tmp_path, contract)
    first = materialize_sources(sources)
    assert first.success, first.failure
    assert query("select count(*) from loyalty_members.members") == [(3,)]

    (drop / "members_2.csv").write_text(MEMBERS_2)
    second = materialize_sources(sources)
    assert second.success, second.failure
    columns = "select column_name from information_schema.columns where table_name = 'members'"
    assert "points" not in {name for (name,) in query(columns)}
    assert query("select member_id, tier from loyalty_members.members order by 1") == rows


def test_tables_freeze_in_the_mapping_form_is_dlts_and_says_what_the_shorthand_does(
    tmp_path: Path, materialize_sources
):
    _, sources = _setup(tmp_path, "{tables: freeze}")
    outcome = materialize_sources(sources)
    assert not outcome.success
    assert "a new table 'members' appeared, but tables are frozen" in outcome.failure
    assert "the shorthand `contract: freeze` freezes only columns and data types" in (
        outcome.failure
    )
