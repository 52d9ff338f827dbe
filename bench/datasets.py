"""Generate benchmark inputs with DuckDB (fast, deterministic): CSV, JSONL and parquet exports."""

from __future__ import annotations

from pathlib import Path

COLUMNS_SQL = """
    select
        i as order_id,
        'customer' || (i % 250000) || '@example.com' as email,
        ['DE', 'FR', 'NL', 'ES', 'IT', 'GB'][1 + i % 6] as country,
        ['paid', 'shipped', 'refunded', 'cancelled'][1 + i % 4] as status,
        round((i % 10000) / 7.0, 2) as amount,
        timestamp '2026-01-01' + to_seconds(i % 31536000) as ordered_at,
        'campaign_' || (i % 97) as campaign
    from range({rows}) t(i)
"""


def export(rows: int, fmt: str, folder: Path) -> Path:
    """Write ``rows`` rows as ``fmt`` (csv | jsonl | parquet) once; reuse it when present."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"orders_{rows}.{fmt}"
    if path.exists():
        return path
    options = {
        "csv": "(header, delimiter ',')",
        "jsonl": "(format json)",
        "parquet": "(format parquet)",
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    with duckdb.connect() as con:
        con.execute(f"copy ({COLUMNS_SQL.format(rows=rows)}) to '{tmp}' {options[fmt]}")
    tmp.rename(path)
    return path
