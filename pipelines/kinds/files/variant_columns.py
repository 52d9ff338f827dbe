"""Arrow batches follow the table's column types the way dlt's row normalizer does.

dlt coerces each dict row's value to the column's existing type and moves a value it cannot
coerce (`7 EUR` in a bigint column) to a variant column `<column>__v_<type>`. For Arrow items it
does neither: it keeps the table's type and lets the warehouse cast while loading, which fails
the load for `7 EUR` and silently rounds `7.5` into a bigint. The fast file readers apply dlt's
own rule here, with dlt's own `coerce_value`, so `reader: fast` and `reader: rows` land the same
table, and the retyped column shows up as a schema change instead of a failed load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Targets a warehouse cast can fail on or lose data for. Text takes any value as it is.
_ARROW_TYPES = {
    "bigint": lambda pa: pa.int64(),
    "double": lambda pa: pa.float64(),
    "bool": lambda pa: pa.bool_(),
    "date": lambda pa: pa.date32(),
    "timestamp": lambda pa: pa.timestamp("us", tz="UTC"),
}
_EXACT_NUMERIC_CASTS = {("bigint", "double"), ("double", "bigint")}


def conform_to_table(table: Any, table_name: str, hints: Mapping[str, str]) -> Any:
    """``table`` coerced to the types the extracted table has so far, or its column ``hints``."""
    import dlt

    schema = dlt.current.source_schema()
    columns = schema.tables.get(table_name, {}).get("columns", {})
    types = {name: column["data_type"] for name, column in columns.items() if "data_type" in column}
    for name, data_type in hints.items():
        types.setdefault(schema.naming.normalize_identifier(name), data_type)
    return conform_types(table, types, schema.naming)


def conform_types(table: Any, target_types: Mapping[str, str], naming: Any) -> Any:
    """``table`` with each column coerced to its ``target_types`` entry, as dlt coerces rows.

    Args:
        table: an Arrow table whose column names may not be normalized yet.
        target_types: normalized column name -> dlt data type the table already has (or a hint).
        naming: the schema's naming convention.

    Returns:
        The table, with values that do not coerce moved to `<column>__v_<type>` columns.
    """
    import pyarrow as pa
    from dlt.common.libs.pyarrow import get_column_type_from_py_arrow

    for name in list(table.column_names):
        normalized = naming.normalize_identifier(name)
        target = target_types.get(normalized)
        field = table.schema.field(name)
        if target not in _ARROW_TYPES or pa.types.is_null(field.type):
            continue
        source = get_column_type_from_py_arrow(field.type).get("data_type")
        if source == target:
            continue
        column, variant = _coerce(table.column(name), source, target)
        table = table.set_column(table.column_names.index(name), name, column)
        if variant is not None:
            variant_name = naming.shorten_fragments(normalized, f"v_{source}")
            table = table.append_column(pa.field(variant_name, field.type), variant)
    return table


def _coerce(column: Any, source: str, target: str) -> tuple[Any, Any]:
    """The coerced column, and the column of values that did not coerce (None if there are none)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from dlt.common.data_types.type_helpers import coerce_value

    arrow_type = _ARROW_TYPES[target](pa)
    if (target, source) in _EXACT_NUMERIC_CASTS:
        try:  # a safe cast succeeds exactly when dlt's coercion would for every value
            return pc.cast(column, arrow_type, safe=True), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    coerced: list[Any] = []
    refused: list[Any] = []
    for value in column.to_pylist():
        try:
            coerced.append(None if value is None else coerce_value(target, source, value))
            refused.append(None)
        except (ValueError, SyntaxError):
            coerced.append(None)
            refused.append(value)
    variant = None
    if any(value is not None for value in refused):
        variant = pa.array(refused, column.type)
    return pa.array(coerced, arrow_type), variant
