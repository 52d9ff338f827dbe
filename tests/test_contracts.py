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
