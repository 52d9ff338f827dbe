"""PII rules applied before data lands: salted SHA-256 for `hash`, removal for `drop`.

The same rules apply to dict rows (REST, SQL) and to Arrow tables (files), and give the same
hash for the same value in every source, so a hashed email still works as a join key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pipelines.runtime.warehouse import quote_identifier

NESTING_SEPARATOR = "__"

WHITESPACE = " \t\r\n\f\v"


def is_email_column(column: str) -> bool:
    """Columns whose values are treated as emails (lower-cased before hashing, joined on)."""
    return "email" in column.lower()


def normalize_for_hash(column: str, value: Any) -> str:
    """Trim every value; lower-case emails, so `Ana@X.com ` and `ana@x.com` hash alike."""
    text = str(value).strip(WHITESPACE)
    return text.lower() if is_email_column(column) or "@" in text else text


def hash_value(column: str, value: Any, salt: bytes) -> str | None:
    """Salted SHA-256 hex digest of a normalized value; None stays None."""
    if value is None:
        return None
    return hashlib.sha256(salt + normalize_for_hash(column, value).encode()).hexdigest()


def hash_sql(column: str) -> str:
    """The DuckDB expression hashing ``column`` exactly as `hash_value` does.

    It expects the named parameters `$salt` and `$whitespace` (see `hash_sql_parameters`).
    """
    text = f"trim(cast({quote_identifier(column)} as varchar), $whitespace)"
    normalized = f"lower({text})"
    if not is_email_column(column):
        normalized = f"case when contains({text}, '@') then lower({text}) else {text} end"
    return f"sha256($salt || {normalized})"


def hash_sql_parameters(salt: bytes) -> dict[str, str]:
    """Values for the named parameters `hash_sql` uses."""
    return {"salt": salt.decode(), "whitespace": WHITESPACE}


def row_transform(
    hash_columns: list[str], drop_columns: list[str], salt: bytes
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A dlt `add_map` step for dict rows. `a__b` addresses the nested key `b` of `a`."""

    def apply(row: dict[str, Any]) -> dict[str, Any]:
        for column in drop_columns:
            _edit_nested(row, column, None, drop=True)
        for column in hash_columns:
            _edit_nested(row, column, lambda v, c=column: hash_value(c, v, salt), drop=False)
        return row

    return apply


def arrow_transform(hash_columns: list[str], drop_columns: list[str], salt: bytes) -> Callable:
    """A dlt `add_map` step for Arrow tables and record batches."""
    import pyarrow as pa

    def apply(table: Any) -> Any:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        present = set(table.column_names)
        table = table.drop_columns([c for c in drop_columns if c in present])
        for column in hash_columns:
            if column in present:
                values = table.column(column).to_pylist()
                hashed = pa.array([hash_value(column, v, salt) for v in values], pa.string())
                table = table.set_column(table.column_names.index(column), column, hashed)
        return table

    return apply


def _edit_nested(row: dict[str, Any], column: str, fn: Any, drop: bool) -> None:
    parts = column.split(NESTING_SEPARATOR) if column not in row else [column]
    target: Any = row
    for part in parts[:-1]:
        target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            return
    leaf = parts[-1]
    if not isinstance(target, dict) or leaf not in target:
        return
    if drop:
        del target[leaf]
    else:
        target[leaf] = fn(target[leaf])


def pii_transform(hash_columns: list[str], drop_columns: list[str], salt: bytes) -> Callable:
    """One `add_map` step for any item: an Arrow table/batch or a dict row."""
    on_rows = row_transform(hash_columns, drop_columns, salt)
    on_arrow = arrow_transform(hash_columns, drop_columns, salt)

    def apply(item: Any) -> Any:
        return on_rows(item) if isinstance(item, dict) else on_arrow(item)

    return apply


def attach_pii(source: Any, spec: Any, salt: bytes) -> None:
    """Hash and drop on every item of every table: Arrow tables, or dict rows."""
    if not (spec.pii.hash or spec.pii.drop):
        return
    for table in spec.table_names():
        hash_cols = spec.pii.columns_for(table, "hash")
        drop_cols = spec.pii.columns_for(table, "drop")
        if hash_cols or drop_cols:
            _resource_for_table(source, table).add_map(pii_transform(hash_cols, drop_cols, salt))


def _resource_for_table(source: Any, table: str) -> Any:
    for resource in source.resources.values():
        if resource.name == table or resource.table_name == table:
            return resource
    raise KeyError(f"no resource produces table {table!r}")
