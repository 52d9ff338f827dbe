"""Arrow tables from the file readers, shaped the way dlt lands nested data.

Struct columns become `parent__child` columns (dlt's own naming for nested fields); lists land
as JSON columns. DuckDB takes Arrow lists directly (dlt stores them as JSON); for other
warehouses lists are turned into JSON text after the PII step (`ListsAsText`), because
PostgreSQL's loader cannot take Arrow list columns.
"""

from __future__ import annotations

from typing import Any

from dlt.extract.items_transform import ItemTransform

from pipelines.governance.pii import NESTING_SEPARATOR


def flatten_structs(table: Any) -> Any:
    """Flatten struct columns (recursively) into `parent__child` columns."""
    import pyarrow.types as pat

    while any(pat.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    names = [name.replace(".", NESTING_SEPARATOR) for name in table.column_names]
    if names != table.column_names:
        table = table.rename_columns(names)
    return table


def lists_as_json_text(table: Any) -> Any:
    """List and map columns as JSON text, for warehouses whose loader takes no Arrow lists."""
    import pyarrow.types as pat

    for index, field in enumerate(table.schema):
        if pat.is_list(field.type) or pat.is_large_list(field.type) or pat.is_map(field.type):
            table = table.set_column(index, field.name, _as_json_text(table.column(index)))
    return table


class ListsAsText(ItemTransform[Any, dict[str, Any]]):
    """The step turning Arrow list columns into JSON text (PostgreSQL and other warehouses).

    It runs after the PII step, which must see lists as lists to reach inside them.
    """

    def __init__(self) -> None:
        super().__init__(lambda item: item)

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Convert an Arrow item's list columns; pass anything else through unchanged."""
        return lists_as_json_text(item) if hasattr(item, "column_names") else item


def _as_json_text(column: Any) -> Any:
    import json

    import pyarrow as pa

    values = column.to_pylist()
    return pa.array(
        [None if v is None else json.dumps(v, default=str, ensure_ascii=False) for v in values],
        pa.string(),
    )
