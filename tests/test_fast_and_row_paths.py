"""The fast file readers (DuckDB for local files, pyarrow for remote ones) load exactly what
dlt's row readers load, PII hashing included."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.dagster

ROWS = [
    {
        "id": i,
        "email": f"  Person{i}@Example.COM " if i % 3 == 0 else f"person{i}@example.com",
        "name": ["Ana", "Ben", "Chloé", None][i % 4],
        "amount": round(i * 1.25, 2),
        "visits": i % 17,
        "ip_address": f"10.0.{i % 256}.{i % 200}",
    }
    for i in range(1, 2501)
]


def _write(folder: Path, fmt: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        lines = ["id,email,name,amount,visits,ip_address"]
        lines += [
            ",".join(
                str(r[k] or "") for k in ("id", "email", "name", "amount", "visits", "ip_address")
            )
            for r in ROWS
        ]
        (folder / "people_1.csv").write_text("\n".join(lines) + "\n")
    elif fmt == "jsonl":
        with (folder / "people_1.jsonl").open("w") as fh:
            for r in ROWS:
                fh.write(
                    json.dumps({**r, "address": {"city": "Berlin", "zip": str(10000 + r["id"])}})
                    + "\n"
                )
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), folder / "people_1.parquet")


def _spec(name: str, bucket: str, fmt: str, reader: str) -> str:
    return f"""\
name: {name}
description: people for the reader equivalence test
owner: team:qa
files:
  bucket_url: {bucket}
  file_glob: "people_*.{fmt}"
  format: {fmt}
  table: people
  primary_key: id
  reader: {reader}
pii:
  hash: [people.email]
  drop: [people.ip_address]
"""


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_fast_paths_load_the_same_rows_as_the_row_reader(
    fmt: str, tmp_path: Path, materialize_sources, query
) -> None:
    local = tmp_path / "drop"
    _write(local, fmt)
    memory = fsspec.filesystem("memory")
    remote_dir = f"/equivalence_{fmt}"
    for path in local.iterdir():
        memory.pipe(f"{remote_dir}/{path.name}", path.read_bytes())
    sources = tmp_path / "sources"
    sources.mkdir()
    variants = {
        "rows_reader": (str(local), "rows"),
        "duckdb_reader": (str(local), "fast"),
        "pyarrow_reader": (f"memory://{remote_dir}", "fast"),
    }
    for name, (bucket, reader) in variants.items():
        (sources / f"{name}.yaml").write_text(_spec(name, bucket, fmt, reader))
    outcome = materialize_sources(sources)
    assert outcome.success, outcome.failure

    def table(schema: str) -> tuple[list[str], list[tuple]]:
        columns = sorted(
            c
            for (c,) in query(
                "select column_name from information_schema.columns "
                f"where table_schema = '{schema}' and table_name = 'people'"
            )
            if not c.startswith("_dlt")
        )
        quoted = ", ".join(f'"{c}"' for c in columns)
        return columns, query(f"select {quoted} from {schema}.people order by id")

    reference_columns, reference = table("rows_reader")
    assert len(reference) == len(ROWS)
    assert "ip_address" not in reference_columns
    assert all(len(row[reference_columns.index("email")]) == 64 for row in reference)
    for schema in ("duckdb_reader", "pyarrow_reader"):
        columns, rows = table(schema)
        assert columns == reference_columns, schema
        assert rows == reference, schema
