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
  file_glob: "{glob}"
  format: csv
  table: members
  primary_key: {key}
  write_disposition: {disposition}
  reader: {reader}
"""
HOUR = 3600.0


def _source(sources: Path, name: str, bucket: Path | str, reader: str, **spec: str) -> None:
    sources.mkdir(exist_ok=True)
    settings = {"key": "member_id", "disposition": "merge", "glob": "members_*.csv"} | spec
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


# Each member has its own value in every key column, so any of them identifies it.
MEMBERS = {
    "ana": ("Ana@x.com", 1, "2024-01-01", "2024-01-01 10:00:00", "A-1"),
    "ben": ("ben@x.com", 1, "2024-01-02", "2024-01-02 11:30:00", "B-1"),
    "cy": ("cy@x.com", 1, "2024-01-03", "2024-01-03 00:00:00", "C-1"),
    "di": ("di@x.com", 2, "2024-01-04", "2024-01-04 23:59:59", "D-2"),
}
READERS = ("rows_reader", "duckdb_reader", "pyarrow_reader")


@pytest.mark.parametrize(
    "key",
    [
        "day",  # a date
        "at",  # a timestamp: the table holds it with a time zone, the file without
        "code",  # text
        "[email, list_id]",  # hashed by a PII rule, and an integer
        "[list_id, at]",
    ],
    ids=["date", "timestamp", "text", "hashed_text_and_int", "int_and_timestamp"],
)
def test_the_last_file_by_name_wins_across_loads_on_every_reader(
    key: str, tmp_path: Path, materialize_sources, query
) -> None:
    """An old file delivered again rolls back no key, whatever the key's type: compared as the
    table types it. All three readers land the same table."""
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    memory, remote = fsspec.filesystem("memory"), f"/file_tracking_precedence_{tmp_path.name}"
    # the rows reader types a date column only when told; the others infer it
    extra = "  columns: {day: date}\npii:\n  hash: [members.email]\n"
    for name, bucket, reader in zip(
        READERS, (drop, drop, f"memory://{remote}"), ("rows", "fast", "fast"), strict=True
    ):
        _source(sources, name, bucket, reader, key=key, extra=extra)

    def deliver(name: str, tiers: dict[str, str], age_hours: float) -> None:
        text = "email,list_id,day,at,code,tier\n" + "".join(
            ",".join(map(str, (*MEMBERS[member], tier))) + "\n" for member, tier in tiers.items()
        )
        (drop / name).write_text(text)
        mtime = time.time() - age_hours * HOUR
        os.utime(drop / name, (mtime, mtime))
        memory.pipe(f"{remote}/{name}", text.encode())

    day1 = {"ana": "d1", "ben": "d1", "cy": "d1"}
    deliver("members_1.csv", day1, 72)
    first = materialize_sources(sources)
    assert first.success, first.failure
    deliver("members_3.csv", {"ben": "d3"}, 24)
    assert materialize_sources(sources).success
    # day 2 arrives late, and day 1 is delivered again with a new mtime and its old content
    deliver("members_2.csv", {"ana": "d2", "ben": "d2", "cy": "d2", "di": "d2"}, 1)
    deliver("members_1.csv", day1, 0)
    late = materialize_sources(sources)
    assert late.success, late.failure

    expected = [
        ("ana@x.com", "d2", "members_2.csv"),  # members_2 sorts after members_1
        ("ben@x.com", "d3", "members_3.csv"),  # never rolled back to d2 or d1
        ("cy@x.com", "d2", "members_2.csv"),
        ("di@x.com", "d2", "members_2.csv"),
    ]
    hashes = {_hash(email.lower()): email.lower() for email, *_ in MEMBERS.values()}
    tables = {}
    for schema in READERS:
        metadata = late.materializations[(schema, "members")]
        assert metadata["files_read"] == ["members_1.csv", "members_2.csv"], schema
        rows = query(f"select email, tier, _source_file from {schema}.members")
        assert sorted((hashes[email], *rest) for email, *rest in rows) == expected, schema
        tables[schema] = (
            query(
                "select column_name, data_type from information_schema.columns where "
                f"table_schema = '{schema}' and table_name = 'members' "
                "and column_name not like '_dlt%' order by column_name"
            ),
            query(
                f'select email, list_id, day, "at", code, tier, _source_file from {schema}.members '
                "order by email"
            ),
        )
    assert dict(tables["rows_reader"][0])["at"] == "TIMESTAMP WITH TIME ZONE"
    assert dict(tables["rows_reader"][0])["day"] == "DATE"
    assert tables["duckdb_reader"] == tables["rows_reader"]
    assert tables["pyarrow_reader"] == tables["rows_reader"]


def test_files_in_date_folders_are_told_apart_by_their_path(
    tmp_path: Path, warehouse_path: Path, materialize_sources, query
) -> None:
    """Same-named files in date folders: `_source_file`, tracking, precedence and `files_read`
    all use the path relative to `bucket_url`, which sorts by folder."""
    import duckdb

    drop, sources = tmp_path / "drop", tmp_path / "sources"
    memory, remote = fsspec.filesystem("memory"), f"/file_tracking_folders_{tmp_path.name}"
    for name, bucket, reader in zip(
        READERS, (drop, drop, f"memory://{remote}"), ("rows", "fast", "fast"), strict=True
    ):
        _source(sources, name, bucket, reader, glob="**/members.csv")

    def deliver(folder: str, rows: list[tuple[int, str]], age_hours: float) -> None:
        (drop / folder).mkdir(parents=True, exist_ok=True)
        _csv(drop / folder / "members.csv", rows, time.time() - age_hours * HOUR)
        memory.pipe(f"{remote}/{folder}/members.csv", (drop / folder / "members.csv").read_bytes())

    def table(schema: str) -> list[tuple]:
        return query(f"select member_id, tier, _source_file from {schema}.members order by 1")

    deliver("2026-11-01", [(1, "gold"), (2, "silver")], 48)
    deliver("2026-11-02", [(2, "platinum"), (3, "bronze")], 24)
    first = materialize_sources(sources)
    assert first.success, first.failure
    both = ["2026-11-01/members.csv", "2026-11-02/members.csv"]
    for schema in READERS:
        assert first.materializations[(schema, "members")]["files_read"] == both, schema
        assert table(schema) == [  # within one load the later folder wins
            (1, "gold", "2026-11-01/members.csv"),
            (2, "platinum", "2026-11-02/members.csv"),
            (3, "bronze", "2026-11-02/members.csv"),
        ], schema

    deliver("2026-11-01", [(1, "gold"), (2, "silver")], 0)  # delivered again, old content
    deliver("2026-11-03", [(1, "diamond")], 0)
    again = materialize_sources(sources)
    assert again.success, again.failure
    for schema in READERS:
        assert again.materializations[(schema, "members")]["files_read"] == [
            "2026-11-01/members.csv",
            "2026-11-03/members.csv",
        ], schema
        assert table(schema) == [  # across loads too: 2 is not rolled back to silver
            (1, "diamond", "2026-11-03/members.csv"),
            (2, "platinum", "2026-11-02/members.csv"),
            (3, "bronze", "2026-11-02/members.csv"),
        ], schema

    # rows an older version loaded carry the file's name alone; they yield to any new file
    with duckdb.connect(str(warehouse_path)) as con:
        for schema in READERS:
            con.execute(f"update {schema}.members set _source_file = 'members.csv'")
    deliver("2026-11-04", [(2, "silver"), (3, "gold")], 0)
    upgraded = materialize_sources(sources)
    assert upgraded.success, upgraded.failure
    for schema in READERS:
        assert table(schema) == [
            (1, "diamond", "members.csv"),
            (2, "silver", "2026-11-04/members.csv"),
            (3, "gold", "2026-11-04/members.csv"),
        ], schema


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

    from pipelines.runtime.build import build_pipeline
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

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
