"""Make "the file whose path sorts last wins" hold across loads, as it does within one.

Within one load dlt's `dedup_sort` on `_source_file` (the file's path relative to `bucket_url`)
keeps each key's row from the file whose path sorts last. Across loads a merge would let whatever
is read now overwrite the table, so an old file delivered again (a new mtime, old content) would
roll keys back to older values. So before a merge table reads a file whose path sorts before one
the table already holds, the keys the table holds from later files are fetched, and that file's
rows for those keys are left out, by a step after the PII step (`reader.Precedence`).

Keys are compared as typed values, after PII hashing, because that is what the table holds: the
file's key is cast to the type the table gives the column. A timestamp key shows why text does
not do: the table holds `2024-01-01 10:00:00+00` where the file says `2024-01-01 10:00:00`. dlt
stores a naive timestamp as UTC, so every comparison reads one as UTC too.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.runtime.warehouse import quote_identifier

SOURCE_FILE_COLUMN = "_source_file"
_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class NewerKeys:
    """Keys a table holds, typed as the table types them, each with the file its row came from."""

    key_columns: list[str]
    rows: Any  # Arrow table: the key columns as the warehouse returns them, and `_source_file`
    naming: Any

    def after(self, path: str) -> NewerKeys | None:
        """The keys whose row came from a file whose path sorts after ``path`` (None if none)."""
        import pyarrow.compute as pc

        newer = self.rows.filter(pc.greater(self.rows[SOURCE_FILE_COLUMN], path))
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
        # once both sides have the table's type, their text is equal exactly when they are
        mine = _joined(
            [
                pc.cast(_cast_like(table[name], self.rows[key].type), pa.string())
                for key, name in columns.items()
            ]
        )
        theirs = _joined([pc.cast(self.rows[key], pa.string()) for key in columns])
        taken = pc.is_in(mine, value_set=theirs, skip_nulls=True)  # a missing key never matches
        return table.filter(pc.invert(taken))

    def filter_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` (dicts, maybe nested) without those whose key is one of these keys."""
        types = {key: _dlt_type(self.rows[key].type) for key in self.key_columns}
        kept = []
        for row in rows:
            key = tuple(_typed(self._value(row, name), types[name]) for name in self.key_columns)
            if None in key or key not in self._taken:
                kept.append(row)
        return kept

    @functools.cached_property
    def _taken(self) -> set[tuple[Any, ...]]:
        """These keys as Python values, built once for all of a file's chunks."""
        columns = [[_canonical(v) for v in self.rows[key].to_pylist()] for key in self.key_columns]
        return set(zip(*columns, strict=True))

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
    table: str,
    primary_key: str | Sequence[str] | None,
    to_read: Sequence[str],
    listed: Sequence[str],
) -> NewerKeys | None:
    """The keys ``table`` holds from files whose paths sort after the first of ``to_read``.

    Called while dlt extracts. Returns None when no file to read sorts before a path the table
    holds (the usual case of new, date-stamped files), or when the table does not exist yet.

    Args:
        table: the table's name.
        primary_key: its primary key column(s), as the source file names them.
        to_read: the paths (relative to `bucket_url`) of the files this load reads.
        listed: the paths of every file the glob matches now.
    """
    import dlt

    keys = [primary_key] if isinstance(primary_key, str) else list(primary_key or [])
    naming = dlt.current.source_schema().naming
    key_columns = [naming.normalize_identifier(key) for key in keys]
    if not to_read or not key_columns:
        return None
    return _load(dlt.current.pipeline(), table, key_columns, min(to_read), listed, naming)


def _load(
    pipeline: Any,
    table: str,
    key_columns: list[str],
    first: str,
    listed: Sequence[str],
    naming: Any,
) -> NewerKeys | None:
    from dlt.destinations.exceptions import DatabaseTerminalException, DatabaseUndefinedRelation

    keys = ", ".join(quote_identifier(k) for k in key_columns)
    legacy, legacy_params = _legacy_names_filter(listed)
    try:
        with pipeline.sql_client() as client:
            qualified = client.make_qualified_table_name(table)
            where = f"where {SOURCE_FILE_COLUMN} > %s{legacy}"
            with client.execute_query(
                f"select max({SOURCE_FILE_COLUMN}) from {qualified} {where}", first, *legacy_params
            ) as cur:
                if cur.fetchone()[0] is None:
                    return None
            with client.execute_query(
                f"select {keys}, {SOURCE_FILE_COLUMN} from {qualified} {where}",
                first,
                *legacy_params,
            ) as cur:
                rows = cur.arrow()
    except (DatabaseUndefinedRelation, DatabaseTerminalException):
        return None  # the first load, or a table loaded before `_source_file` existed
    if rows is None or not rows.num_rows:
        return None
    return NewerKeys(list(key_columns), rows, naming)


def _legacy_names_filter(listed: Sequence[str]) -> tuple[str, list[str]]:
    """SQL that leaves out rows whose `_source_file` is a bare name where paths are expected.

    Versions before paths wrote the file's name alone. Where the files sit in subfolders such a
    name cannot be placed among paths (`orders.csv` would sort after `2026-11-02/orders.csv`
    and freeze its keys forever), so those rows yield to any file, as every row did then. A bare
    name that is the path of a file listed at the top level still counts.
    """
    top_level = [path for path in listed if "/" not in path]
    if len(top_level) == len(listed):
        return "", []
    kept = f"strpos({SOURCE_FILE_COLUMN}, '/') > 0"
    if top_level:
        kept += f" or {SOURCE_FILE_COLUMN} in ({', '.join('%s' for _ in top_level)})"
    return f" and ({kept})", top_level


def loaded_file_names(pipeline: Any, table: str) -> set[str] | None:
    """The `_source_file` values ``table`` holds; None when there is no such table or column."""
    from dlt.destinations.exceptions import DatabaseTerminalException, DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            qualified = client.make_qualified_table_name(table)
            rows = client.execute_sql(f"select distinct {SOURCE_FILE_COLUMN} from {qualified}")
    except (DatabaseUndefinedRelation, DatabaseTerminalException):
        return None
    return {name for (name,) in rows or []}


def _cast_like(column: Any, arrow_type: Any) -> Any:
    """``column`` as ``arrow_type``, null where a value does not convert (as DuckDB's try_cast)."""
    import pyarrow as pa

    if column.type == arrow_type:
        return column
    routes = [[arrow_type]]
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        # pyarrow parses text without an offset only as a naive timestamp, which it reads as UTC
        routes.append([pa.timestamp(arrow_type.unit), arrow_type])
    for route in routes:
        try:
            cast = column
            for step in route:
                cast = cast.cast(step)
            return cast
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            continue
    # some value does not convert: dlt's coercion, value by value, leaves out just that one
    data_type = _dlt_type(arrow_type)
    return pa.array([_typed(value, data_type) for value in column.to_pylist()], arrow_type)


def _dlt_type(arrow_type: Any) -> str | None:
    from dlt.common.libs.pyarrow import get_column_type_from_py_arrow

    return get_column_type_from_py_arrow(arrow_type).get("data_type")


def _typed(value: Any, data_type: str | None) -> Any:
    """``value`` coerced to ``data_type`` as dlt coerces a row's value; None if it cannot be."""
    from dlt.common.data_types import coerce_value, py_type_to_sc_type

    if value is None or data_type is None:
        return None
    try:
        return _canonical(coerce_value(data_type, py_type_to_sc_type(type(value)), value))
    except (ValueError, TypeError, SyntaxError):
        return None  # dlt would put it in a variant column: it is no key the table holds


def _canonical(value: Any) -> Any:
    """One Python value per warehouse value, so equal values compare (and hash) equal."""
    from dlt.common.time import ensure_datetime_in_tz

    if isinstance(value, datetime.datetime):
        # a naive and an aware timestamp never compare equal; dlt stored naive ones as UTC
        return ensure_datetime_in_tz(value, datetime.UTC)
    return value


def _joined(columns: list[Any]) -> Any:
    import pyarrow.compute as pc

    if len(columns) == 1:
        return columns[0]
    return pc.binary_join_element_wise(*columns, _KEY_SEPARATOR)
