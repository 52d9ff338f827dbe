"""File sources never skip or roll back data: every file is tracked by name, size and mtime in
dlt state, "the file whose name sorts last wins" holds across loads, and `replace` with no file
to read leaves the table alone. The DuckDB, pyarrow and dlt row readers land the same tables."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fsspec
import pytest

pytestmark = pytest.mark.dagster

SPEC = """\
name: {name}
description: Newsletter members exported as daily CSV files
owner: team:crm
files:
  bucket_url: {bucket}
  file_glob: "members_*.csv"
  format: csv
  table: members
  primary_key: {key}
  write_disposition: {disposition}
  reader: {reader}
"""
HOUR = 3600.0


def _source(sources: Path, name: str, bucket: Path | str, reader: str, **spec: str) -> None:
    sources.mkdir(exist_ok=True)
    settings = {"key": "member_id", "disposition": "merge"} | spec
    text = SPEC.format(name=name, bucket=bucket, reader=reader, **settings)
    (sources / f"{name}.yaml").write_text(text + spec.get("extra", ""))


def _csv(path: Path, rows: list[tuple[int, str]], mtime: float) -> None:
    path.write_text("member_id,tier\n" + "".join(f"{i},{t}\n" for i, t in rows))
    os.utime(path, (mtime, mtime))


@pytest.mark.parametrize("disposition", ["merge", "append"])
@pytest.mark.parametrize("reader", ["fast", "rows"])
def test_a_new_file_with_an_older_mtime_is_loaded(
    reader: str, disposition: str, tmp_path: Path, materialize_sources, query
) -> None:
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    _source(sources, "member_drop", drop, reader, disposition=disposition)
    now = time.time()
    _csv(drop / "members_2026-11-02.csv", [(1, "gold"), (2, "silver")], now - HOUR)
    assert materialize_sources(sources).success

    # unzipped or `rsync -t`-ed: a file the cursor had passed by mtime, seen for the first time
    _csv(drop / "members_2026-11-01.csv", [(3, "bronze")], now - 48 * HOUR)
    late = materialize_sources(sources)
    assert late.success, late.failure
    metadata = late.materializations[("member_drop", "members")]
    assert metadata["files_read"] == ["members_2026-11-01.csv"]
    assert query("select member_id, tier from member_drop.members order by 1") == [
        (1, "gold"),
        (2, "silver"),
        (3, "bronze"),
    ]
    again = materialize_sources(sources)
    assert again.materializations[("member_drop", "members")]["files_read"] == []
    assert query("select count(*) from member_drop.members") == [(3,)]


def test_the_last_file_by_name_wins_across_loads_on_every_reader(
    tmp_path: Path, materialize_sources, query
) -> None:
    """Keys hashed by a PII rule and a composite key: the same table from all three readers."""
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    memory, remote = fsspec.filesystem("memory"), "/file_tracking_precedence"
    key = "[email, list_id]\n"
    extra = "pii:\n  hash: [members.email]\n"
    for name, bucket, reader in (
        ("rows_reader", drop, "rows"),
        ("duckdb_reader", drop, "fast"),
        ("pyarrow_reader", f"memory://{remote}", "fast"),
    ):
        _source(sources, name, bucket, reader, key=key, extra=extra)

    def deliver(name: str, rows: list[tuple[str, int, str]], age_hours: float) -> None:
        text = "email,list_id,tier\n" + "".join(f"{e},{n},{t}\n" for e, n, t in rows)
        (drop / name).write_text(text)
        mtime = time.time() - age_hours * HOUR
        os.utime(drop / name, (mtime, mtime))
        memory.pipe(f"{remote}/{name}", text.encode())

    day1 = [("Ana@x.com", 1, "d1"), ("ben@x.com", 1, "d1"), ("cy@x.com", 1, "d1")]
    deliver("members_1.csv", day1, 72)
    first = materialize_sources(sources)
    assert first.success, first.failure
    deliver("members_3.csv", [("ben@x.com", 1, "d3")], 24)
    assert materialize_sources(sources).success
    # day 2 arrives late, and day 1 is delivered again with a new mtime and its old content
    deliver("members_2.csv", [*[(e, n, "d2") for e, n, _ in day1], ("di@x.com", 2, "d2")], 1)
    deliver("members_1.csv", day1, 0)
    late = materialize_sources(sources)
    assert late.success, late.failure

    expected = [
        ("ana@x.com", 1, "d2", "members_2.csv"),  # members_2 sorts after members_1
        ("ben@x.com", 1, "d3", "members_3.csv"),  # never rolled back to d2 or d1
        ("cy@x.com", 1, "d2", "members_2.csv"),
        ("di@x.com", 2, "d2", "members_2.csv"),
    ]
    tables = {}
    for schema in ("rows_reader", "duckdb_reader", "pyarrow_reader"):
        metadata = late.materializations[(schema, "members")]
        assert metadata["files_read"] == ["members_1.csv", "members_2.csv"], schema
        tables[schema] = (
            query(
                "select column_name, data_type from information_schema.columns where "
                f"table_schema = '{schema}' and table_name = 'members' "
                "and column_name not like '_dlt%' order by column_name"
            ),
            query(f"select email, list_id, tier, _source_file from {schema}.members order by 1"),
        )
    hashes = {_hash(email): email for email, *_ in expected}
    _, rows = tables["rows_reader"]
    assert sorted((hashes[email], *rest) for email, *rest in rows) == expected
    assert tables["duckdb_reader"] == tables["rows_reader"]
    assert tables["pyarrow_reader"] == tables["rows_reader"]


def _hash(email: str) -> str:
    import hashlib

    return hashlib.sha256(b"test-salt" + email.lower().encode()).hexdigest()


@pytest.mark.parametrize("reader", ["fast", "rows"])
def test_replace_with_no_matching_file_fails_and_leaves_the_table(
    reader: str, tmp_path: Path, materialize_sources, query
) -> None:
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    _source(sources, "member_drop", drop, reader, disposition="replace")
    _csv(drop / "members_1.csv", [(1, "gold"), (2, "silver")], time.time())
    assert materialize_sources(sources).success
    second = materialize_sources(sources)
    assert second.materializations[("member_drop", "members")]["files_read"] == ["members_1.csv"]

    (drop / "members_1.csv").rename(drop / "archived_members_1.csv")
    empty = materialize_sources(sources)
    assert not empty.success
    assert empty.failure == (
        f"member_drop: load failed: no file in {drop} matches 'members_*.csv', so there is "
        "nothing to replace the table with; the table was left as it was"
    )
    assert query("select member_id, tier from member_drop.members order by 1") == [
        (1, "gold"),
        (2, "silver"),
    ]


def test_a_drop_read_by_the_old_mtime_cursor_is_not_read_again(
    tmp_path: Path, warehouse_path: Path, materialize_sources, query
) -> None:
    """An append table loaded by the version with a `modification_date` cursor keeps its rows
    once: files the cursor had passed and loaded count as read; the one it skipped is read."""
    import dlt
    from dlt.sources.filesystem import filesystem

    from pipelines.builders import build_pipeline
    from pipelines.registry import load_registry
    from pipelines.warehouse import Warehouse

    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    _source(sources, "member_drop", drop, "rows", disposition="append")
    now = time.time()
    _csv(drop / "members_1.csv", [(1, "gold")], now - 3 * HOUR)
    _csv(drop / "members_2.csv", [(2, "silver")], now - 2 * HOUR)

    # what the previous version ran: the cursor on the `filesystem` listing
    listing = filesystem(bucket_url=str(drop), file_glob="members_*.csv")
    listing.apply_hints(incremental=dlt.sources.incremental("modification_date"))

    @dlt.transformer(name="members", write_disposition="append")
    def read(items):
        for item in items:
            with item.open() as fh:
                lines = fh.read().decode().splitlines()[1:]
            yield [
                {"member_id": int(i), "tier": t, "_source_file": item["file_name"]}
                for i, t in (line.split(",") for line in lines)
            ]

    [spec] = [s.spec for s in load_registry(sources).sources]
    old = build_pipeline(spec, Warehouse.from_setting(warehouse_path))
    old.run(dlt.source(name="member_drop")(lambda: [listing | read])())
    assert query("select count(*) from member_drop.members") == [(2,)]

    # arrived late with an older mtime: the old cursor skipped it, the upgrade reads it
    _csv(drop / "members_0.csv", [(3, "bronze")], now - 5 * HOUR)
    old.run(dlt.source(name="member_drop")(lambda: [listing | read])())
    assert query("select count(*) from member_drop.members") == [(2,)]  # the bug
    upgraded = materialize_sources(sources)
    assert upgraded.success, upgraded.failure
    assert upgraded.materializations[("member_drop", "members")]["files_read"] == ["members_0.csv"]
    assert query("select member_id, tier from member_drop.members order by 1") == [
        (1, "gold"),
        (2, "silver"),
        (3, "bronze"),
    ]
    assert (
        materialize_sources(sources).materializations[("member_drop", "members")]["files_read"]
        == []
    )
