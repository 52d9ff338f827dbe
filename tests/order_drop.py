"""A drop of 3,000 orders in three CSV files, the data the crash tests kill runs of."""

from __future__ import annotations

from pathlib import Path

import duckdb

ORDERS_SPEC = """\
name: order_drop
description: Orders exported as CSV files
owner: team:shop
files:
  bucket_url: {drop}
  file_glob: "orders_*.csv"
  format: csv
  table: orders
  primary_key: order_id
  write_disposition: {disposition}
"""
# count, distinct keys and the sum of amounts when every order landed exactly once
EXPECTED_ORDERS = (3000, 3000, sum(i * 0.5 for i in range(3000)))


def write_order_drop(root: Path, disposition: str = "merge") -> tuple[Path, Path]:
    """Write the three files under ``root/drop`` and the source file under ``root/sources``."""
    drop, sources = root / "drop", root / "sources"
    drop.mkdir()
    sources.mkdir()
    for n in range(3):
        rows = "".join(f"{n * 1000 + i},{(n * 1000 + i) * 0.5}\n" for i in range(1000))
        (drop / f"orders_{n}.csv").write_text("order_id,amount\n" + rows)
    (sources / "order_drop.yaml").write_text(ORDERS_SPEC.format(drop=drop, disposition=disposition))
    return drop, sources


def orders_in(warehouse: str | Path) -> tuple:
    """(rows, distinct order ids, sum of amounts) in the warehouse's order_drop.orders."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(
            "select count(*), count(distinct order_id), sum(amount) from order_drop.orders"
        ).fetchone()
