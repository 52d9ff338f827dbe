"""Fidelity to dlt for files and SQL: the same drop or table through plain dlt and sourcegate.

Files: CSV, JSONL and parquet with headers in mixed case, read by plain dlt's
`filesystem(...) | read_csv()` / `read_jsonl()` / `read_parquet()` and by sourcegate's
`files:` block with the fast reader. SQL: one SQLite table through dlt's `sql_database` and
sourcegate's `sql_database:` block, twice, with a change in between (merge and cursor).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.differential.harness import (
    SQL_SECRET,
    files_plain,
    files_spec,
    run_differential,
    sql_plain,
    sql_spec,
)

pytestmark = pytest.mark.dagster

ROWS_PER_FILE = 20
_T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def _row(i: int) -> dict:
    return {
        "OrderRef": f"R-{i:04d}",
        "Signup Date": (date(2026, 1, 1) + timedelta(days=i)).isoformat(),
        "TotalSpend": None if i % 6 == 0 else round(12.5 + i * 0.75, 2),
        "isActive": i % 3 != 0,
        "LastSeenAt": (_T0 + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "CountryCode": ("IT", "DE", "FR")[i % 3],
        "Visits": i % 9,
    }


def _write_csv(path: Path, rows: list[dict]) -> None:
    header = list(rows[0])
    lines = [",".join(header)]
    for row in rows:
        cells = []
        for key in header:
            value = row[key]
            cells.append(
                ""
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    records = []
    for row in rows:
        record = {k: v for k, v in row.items() if k != "Signup Date"}
        record["Meta"] = {
            "SourceChannel": ("web", "app")[row["Visits"] % 2],
            "Score": row["Visits"],
        }
        record["Labels"] = ["a", f"v{row['Visits'] % 3}"]
        records.append(json.dumps(record))
    path.write_text("\n".join(records) + "\n")


def _write_parquet(path: Path, rows: list[dict]) -> None:
    table = pa.table(
        {
            "OrderRef": pa.array([r["OrderRef"] for r in rows], pa.string()),
            "SignupDate": pa.array(
                [date.fromisoformat(r["Signup Date"]) for r in rows], pa.date32()
            ),
            "TotalSpend": pa.array([r["TotalSpend"] for r in rows], pa.float64()),
            "isActive": pa.array([r["isActive"] for r in rows], pa.bool_()),
            "LastSeenAt": pa.array(
                [datetime.fromisoformat(r["LastSeenAt"]) for r in rows],
                pa.timestamp("us", tz="UTC"),
            ),
            "CountryCode": pa.array([r["CountryCode"] for r in rows], pa.string()),
            "Visits": pa.array([r["Visits"] for r in rows], pa.int64()),
        }
    )
    pq.write_table(table, path)


_WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two files per format, under the pytest temp root (inside the data root)."""
    root = tmp_path_factory.mktemp("differential_drops")
    for fmt, write in _WRITERS.items():
        folder = root / fmt
        folder.mkdir()
        for part in (1, 2):
            start = (part - 1) * ROWS_PER_FILE + 1
            rows = [_row(i) for i in range(start, start + ROWS_PER_FILE)]
            write(folder / f"orders_{part}.{fmt}", rows)
    return root


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_file_drop_lands_as_plain_dlt_lands_it(fmt: str, drops: Path, tmp_path: Path) -> None:
    folder, glob = drops / fmt, f"orders_*.{fmt}"
    report = run_differential(
        files_plain(folder, glob, fmt, "orders"),
        files_spec(folder, glob, fmt, "orders"),
        tmp_path,
        plain_run_kwargs={"write_disposition": "replace"},
    )
    assert report.same, f"files {fmt}, mixed-case headers\n{report.message()}"


def _plans_db(path: Path) -> None:
    with sqlite3.connect(path) as con:
        con.execute(
            "create table plans (id integer primary key, code text not null, price real, "
            "active boolean, updated_at datetime not null, notes text)"
        )
        con.executemany(
            "insert into plans values (?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    f"PLAN-{i:03d}",
                    round(9.99 + i, 2),
                    i % 2 == 0,
                    (datetime(2026, 3, 1) + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S"),
                    None if i % 4 == 0 else f"tier {i % 3}",
                )
                for i in range(1, 41)
            ],
        )


@contextlib.contextmanager
def _change_plans(path: Path, run: int) -> Iterator[None]:
    if run == 1:  # before the second run: one row changes, two are new
        with sqlite3.connect(path) as con:
            con.execute(
                "update plans set price = 1.5, updated_at = '2026-04-01 00:00:00' where id = 3"
            )
            con.executemany(
                "insert into plans values (?, ?, ?, ?, ?, ?)",
                [
                    (41, "PLAN-041", 50.0, 1, "2026-04-02 00:00:00", None),
                    (42, "PLAN-042", 51.0, 0, "2026-04-03 00:00:00", "tier 0"),
                ],
            )
    yield


def test_sql_table_lands_as_plain_dlt_lands_it(tmp_path: Path) -> None:
    db = tmp_path / "plans.sqlite"
    _plans_db(db)
    url = f"sqlite:///{db}"
    report = run_differential(
        sql_plain(url, "plans", "id", "updated_at"),
        sql_spec("plans", "id", "updated_at"),
        tmp_path / "runs",
        runs=2,
        before_run=lambda i: _change_plans(db, i),
        env={SQL_SECRET: url},
    )
    assert report.same, (
        f"sql_database table, merge on id with cursor updated_at\n{report.message()}"
    )
