"""Explain a dlt schema-contract violation: which table, which column, what type arrived."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_INCOMING_TYPE = re.compile(r"Incoming column: .*'data_type': '(\w+)'")
_EXISTING_TYPE = re.compile(r"Existing column: .*?'data_type': '(\w+)'")
_VARIANT = re.compile(r"(\w+)__v_([a-z]+)")


def explain_contract_violation(error: Any) -> str:
    """A one-line, actionable message for a dlt `DataValidationError`."""
    table, column = error.table_name, error.column_name
    entity, message = error.schema_entity, str(error)
    if entity == "tables":
        return (
            f"schema contract: a new table '{table}' appeared, but tables are frozen; set "
            "contract.tables to evolve to accept it (the shorthand `contract: freeze` freezes "
            "only columns and data types)"
        )
    incoming = _INCOMING_TYPE.search(message)
    value_type = incoming.group(1) if incoming else _value_type(error.data_item, column)
    if entity == "columns":
        return (
            f"schema contract: table '{table}' got a new column '{column}' ({value_type}), but "
            "columns are frozen; set contract.columns to evolve to accept it, or fix the export"
        )
    existing = _EXISTING_TYPE.search(message)
    was = f" instead of {existing.group(1)}" if existing else ""
    variant = _VARIANT.fullmatch(column or "")
    if variant:  # dict rows: dlt asked for `<column>__v_<type>` to hold the other values
        column, value_type = variant.group(1), variant.group(2)
        old_type = _column_type(error.table_schema, column)
        was = f" instead of {old_type}" if old_type else ""
    return (
        f"schema contract: column '{column}' of table '{table}' received {value_type} values{was}, "
        "but data types are frozen; fix the export or set contract.data_type to evolve"
    )


def _column_type(table_schema: Any, column: str) -> str | None:
    columns = table_schema.get("columns", {}) if hasattr(table_schema, "get") else {}
    return columns.get(column, {}).get("data_type")


def _value_type(item: Any, column: str | None) -> str:
    """The dlt type name of ``column`` in a dict row or an Arrow table/batch (or a list of them)."""
    if isinstance(item, list):
        found = (_value_type(entry, column) for entry in item)
        return next((name for name in found if name != "unknown type"), "unknown type")
    schema = getattr(item, "schema", None)
    if schema is not None and column and column in getattr(schema, "names", []):
        return _arrow_type(schema.field(column).type)
    if isinstance(item, dict) and column in item:
        return _python_type(item[column])
    return "unknown type"


def _python_type(value: Any) -> str:
    for kind, name in (
        (bool, "bool"),
        (int, "bigint"),
        (float, "double"),
        (str, "text"),
        (dt.datetime, "timestamp"),
        (dt.date, "date"),
        (dict | list, "json"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _arrow_type(arrow_type: Any) -> str:
    import pyarrow.types as t

    checks = (
        (t.is_boolean, "bool"),
        (t.is_integer, "bigint"),
        (t.is_floating, "double"),
        (t.is_decimal, "decimal"),
        (t.is_timestamp, "timestamp"),
        (t.is_date, "date"),
        (lambda x: t.is_string(x) or t.is_large_string(x), "text"),
        (lambda x: t.is_struct(x) or t.is_list(x) or t.is_large_list(x), "json"),
    )
    return next((name for test, name in checks if test(arrow_type)), str(arrow_type))
