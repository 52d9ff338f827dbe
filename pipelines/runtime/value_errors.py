"""Explain a value the warehouse refused: which table, which column, which value, what to do.

DuckDB and PostgreSQL reject a value when it cannot be cast to the column's type or is empty in
a required column; dlt's row normalizer raises the same two cases itself. Each is named here
in one line. With ``values=False`` the value is left out, for places that must hold no row data
(materialization metadata).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_SHOWN_VALUE_CHARS = 40
_DUCKDB_CAST = re.compile(
    r"Could not convert string '(?P<value>.*?)' to (?P<type>\w+)"
    r"(?: when casting from source column (?P<column>\w+))?"
)
_POSTGRES_CAST = re.compile(r'invalid input syntax for type (?P<type>[\w ]+): "(?P<value>.*?)"')
_POSTGRES_COPY_COLUMN = re.compile(r"COPY (?P<table>\w+), line \d+, column (?P<column>\w+)")
_DUCKDB_NOT_NULL = re.compile(
    r"NOT NULL constraint failed: (?:\w+\.)*(?P<table>\w+)\.(?P<column>\w+)"
)
_DLT_NOT_NULL = re.compile(r"Cannot coerce NULL in table `(?P<table>\w+)` column `(?P<column>\w+)`")
_ARROW_NOT_NULL = re.compile(
    r"Column '(?P<column>\w+)' is declared non-nullable but contains nulls"
)
_POSTGRES_NOT_NULL = re.compile(
    r'null value in column "(?P<column>\w+)" of relation "(?P<table>\w+)" violates not-null'
)
_TYPE_NAMES = {
    "INT64": "bigint",
    "INT32": "bigint",
    "BIGINT": "bigint",
    "INTEGER": "bigint",
    "DOUBLE": "double",
    "FLOAT": "double",
    "DOUBLE PRECISION": "double",
    "BOOLEAN": "bool",
    "DATE": "date",
}


@dataclass(frozen=True)
class RefusedValue:
    """A value the warehouse or dlt refused; ``value`` is None for an empty required value."""

    table: str | None
    column: str | None
    type_name: str | None
    value: str | None

    def explain(self, values: bool = True) -> str:
        """One line naming the table, the column, (with ``values``) the value and the fix."""
        where = f"column '{self.column or '?'}'"
        where += f" of table '{self.table}'" if self.table else ""
        if self.value is None:
            return (
                f"{where} is empty in some rows, but it is a primary key or required column; "
                "fix the export so that every row has a value"
            )
        shown = self.value[:_SHOWN_VALUE_CHARS]
        shown += "…" if len(self.value) > _SHOWN_VALUE_CHARS else ""
        got = f"got '{shown}', which is not" if values else "got a value that is not"
        return (
            f"{where} {got} a valid {self.type_name or 'value'}; fix the export, or declare the "
            "column as text in the source file's `columns`"
        )


def find_refused_value(chain: Iterable[BaseException]) -> RefusedValue | None:
    """The refused value described by any error in ``chain`` (outermost first), or None."""
    errors = list(chain)
    # dlt job ids are `<table>.<file id>.<format>`, pipes are named after the resource; the
    # warehouse's or Arrow's message may lack the table
    names = [
        getattr(error, "job_id", None) or getattr(error, "pipe_name", None) for error in errors
    ]
    table = next((n.split(".", 1)[0] for n in names if isinstance(n, str)), None)
    for error in errors:
        refused = _from_dlt(error) or _from_message(str(error))
        if refused is not None:
            return RefusedValue(
                refused.table or table, refused.column, refused.type_name, refused.value
            )
    return None


def _from_dlt(error: Any) -> RefusedValue | None:
    if type(error).__name__ == "CannotCoerceColumnException":
        value = str(error.coerced_value) if error.coerced_value is not None else ""
        return RefusedValue(error.table_name, error.column_name, error.to_type, value)
    return None


def _from_message(message: str) -> RefusedValue | None:
    cast = _DUCKDB_CAST.search(message) or _POSTGRES_CAST.search(message)
    if cast:
        copy = _POSTGRES_COPY_COLUMN.search(message)
        column = cast.groupdict().get("column") or (copy.group("column") if copy else None)
        table = copy.group("table") if copy else None
        type_name = _TYPE_NAMES.get(cast.group("type").upper(), cast.group("type").lower())
        return RefusedValue(table, column, type_name, cast.group("value"))
    empty = (
        _DUCKDB_NOT_NULL.search(message)
        or _POSTGRES_NOT_NULL.search(message)
        or _DLT_NOT_NULL.search(message)
        or _ARROW_NOT_NULL.search(message)
    )
    if empty:
        return RefusedValue(empty.groupdict().get("table"), empty.group("column"), None, None)
    return None
