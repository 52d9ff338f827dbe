"""Make "the file whose name sorts last wins" hold across loads, as it does within one.

Within one load dlt's `dedup_sort` on `_source_file` keeps each key's row from the file whose name
sorts last. Across loads a merge would let whatever is read now overwrite the table, so an old
file delivered again (a new mtime, old content) would roll keys back to older values. So before a
merge table reads a file whose name sorts before a name the table already holds, the keys the
table holds from later-named files are fetched, and that file's rows for those keys are left
out: in the DuckDB query on the fast path, and by the same comparison on the other paths. Keys
are compared as text, after PII hashing, because that is what the table holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.warehouse import quote_identifier

SOURCE_FILE_COLUMN = "_source_file"
NEWER_KEYS_VIEW = "sourcegate_newer_keys"
_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class NewerKeys:
    """Keys a table holds (as text), each with the name of the file its row came from."""

    key_columns: list[str]
    rows: Any  # Arrow table: the key columns as text, and `_source_file`
    naming: Any

    def after(self, file_name: str) -> NewerKeys | None:
        """The keys whose row came from a file named after ``file_name`` (None if none)."""
        import pyarrow.compute as pc

        newer = self.rows.filter(pc.greater(self.rows[SOURCE_FILE_COLUMN], file_name))
        return NewerKeys(self.key_columns, newer, self.naming) if newer.num_rows else None

    def columns_in(self, names: Sequence[str]) -> dict[str, str] | None:
        """Each key column -> its name among a file's column ``names`` (None if one is missing)."""
        found = {self.naming.normalize_identifier(name): name for name in names}
        if any(key not in found for key in self.key_columns):
            return None
        return {key: found[key] for key in self.key_columns}

    def filter_arrow(self, table: Any) -> Any:
        """``table`` without the rows whose key is one of these keys."""
        import pyarrow as pa
        import pyarrow.compute as pc

        columns = self.columns_in(table.column_names)
        if columns is None:
            return table
        mine = _joined([pc.cast(table[name], pa.string()) for name in columns.values()])
        theirs = _joined([self.rows[key] for key in columns])
        taken = pc.fill_null(pc.is_in(mine, value_set=theirs), False)
        return table.filter(pc.invert(taken))

    def filter_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` (dicts, maybe nested) without those whose key is one of these keys."""
        taken = {
            _KEY_SEPARATOR.join(values)
            for values in zip(
                *(self.rows[key].to_pylist() for key in self.key_columns), strict=True
            )
        }
        return [
            row
            for row in rows
            if _KEY_SEPARATOR.join(_as_text(self._value(row, key)) for key in self.key_columns)
            not in taken
        ]

    def _value(self, row: dict[str, Any], key: str) -> Any:
        """The value of the normalized column ``key`` in ``row``, looked up in nested objects
        the way dlt flattens them (`customer__id` is `id` in `customer`)."""
        for name, value in row.items():
            normalized = self.naming.normalize_identifier(name)
            if normalized == key:
                return value
            prefix = normalized + self.naming.PATH_SEPARATOR
            if isinstance(value, dict) and key.startswith(prefix):
                return self._value(value, key[len(prefix) :])
        return None


def newer_keys(
    table: str, primary_key: str | Sequence[str] | None, file_names: Sequence[str]
) -> NewerKeys | None:
    """The keys ``table`` holds from files named after the first of ``file_names``.

    Called while dlt extracts. Returns None when no file to read sorts before a name the table
    holds (the usual case of new, date-stamped files), or when the table does not exist yet.
    """
    import dlt

    keys = [primary_key] if isinstance(primary_key, str) else list(primary_key or [])
    naming = dlt.current.source_schema().naming
    key_columns = [naming.normalize_identifier(key) for key in keys]
    if not file_names or not key_columns:
        return None
    return _load(dlt.current.pipeline(), table, key_columns, file_names, naming)


def _load(
    pipeline: Any, table: str, key_columns: list[str], file_names: Sequence[str], naming: Any
) -> NewerKeys | None:
    from dlt.destinations.exceptions import DatabaseTerminalException, DatabaseUndefinedRelation

    first = min(file_names)
    keys = ", ".join(
        f"cast({quote_identifier(k)} as varchar) as {quote_identifier(k)}" for k in key_columns
    )
    try:
        with pipeline.sql_client() as client:
            qualified = client.make_qualified_table_name(table)
            with client.execute_query(f"select max({SOURCE_FILE_COLUMN}) from {qualified}") as cur:
                newest = cur.fetchone()[0]
            if newest is None or newest <= first:
                return None
            with client.execute_query(
                f"select {keys}, {SOURCE_FILE_COLUMN} from {qualified} "
                f"where {SOURCE_FILE_COLUMN} > %s",
                first,
            ) as cur:
                rows = cur.arrow()
    except (DatabaseUndefinedRelation, DatabaseTerminalException):
        return None  # the first load, or a table loaded before `_source_file` existed
    if rows is None or not rows.num_rows:
        return None
    return NewerKeys(list(key_columns), rows, naming)


def loaded_file_names(pipeline: Any, table: str) -> set[str] | None:
    """The `_source_file` names ``table`` holds; None when there is no such table or column."""
    from dlt.destinations.exceptions import DatabaseTerminalException, DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            qualified = client.make_qualified_table_name(table)
            rows = client.execute_sql(f"select distinct {SOURCE_FILE_COLUMN} from {qualified}")
    except (DatabaseUndefinedRelation, DatabaseTerminalException):
        return None
    return {name for (name,) in rows or []}


def duckdb_filter(query: str, key_columns: dict[str, str]) -> str:
    """``query`` without the rows whose key is in the `NEWER_KEYS_VIEW` relation.

    Args:
        query: the SQL reading one file, PII already applied.
        key_columns: the table's key column -> the same column's name in ``query``.
    """
    match = " and ".join(
        f"n.{quote_identifier(key)} = cast(r.{quote_identifier(name)} as varchar)"
        for key, name in key_columns.items()
    )
    return (
        f"select r.* from ({query}) as r "
        f"where not exists (select 1 from {NEWER_KEYS_VIEW} as n where {match})"
    )


def _joined(columns: list[Any]) -> Any:
    import pyarrow.compute as pc

    if len(columns) == 1:
        return columns[0]
    return pc.binary_join_element_wise(*columns, _KEY_SEPARATOR)


def _as_text(value: Any) -> str:
    # as DuckDB's cast to varchar writes it; a missing key never matches
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
