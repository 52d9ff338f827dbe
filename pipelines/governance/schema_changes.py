"""What changed in a table's columns between two loads, read from the warehouse itself."""

from __future__ import annotations

from typing import Any

Columns = dict[str, dict[str, str]]  # table -> column -> warehouse type
_DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")
_VARIANT_MARKER = "__v_"  # dlt names a variant column `<column>__v_<type>`


def warehouse_columns(pipeline: Any, tables: list[str]) -> Columns:
    """Current columns and types of ``tables`` in the pipeline's dataset ({} if none yet)."""
    found: Columns = {table: {} for table in tables}
    placeholders = ", ".join(["%s"] * len(tables))
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select table_name, column_name, data_type from information_schema.columns "
            f"where table_schema = %s and table_name in ({placeholders}) "
            "order by table_name, ordinal_position",
            client.dataset_name,
            *tables,
        )
    for table, column, data_type in rows or []:
        if column not in _DLT_COLUMNS:
            found[table][column] = str(data_type).lower()
    return found


def describe_changes(before: Columns, after: Columns) -> dict[str, dict[str, Any]]:
    """Per table: `new_table`, or the columns `added` and those whose type `changed`."""
    changes: dict[str, dict[str, Any]] = {}
    for table, columns in after.items():
        old = before.get(table, {})
        if not old:
            changes[table] = {"new_table": True, "added": dict(columns), "changed": {}}
            continue
        added = {c: t for c, t in columns.items() if c not in old}
        changes[table] = {
            "new_table": False,
            "added": added,
            "changed": {
                c: f"{old[c]} -> {t}" for c, t in columns.items() if c in old and old[c] != t
            }
            | _variants(old, added),
        }
    return changes


def _variants(old: dict[str, str], added: dict[str, str]) -> dict[str, str]:
    """Columns retyped through a dlt variant: `amount` got values that are not its type, and
    dlt put them in the new column `amount__v_text`."""
    found = {}
    for column, column_type in added.items():
        base, marker, _ = column.rpartition(_VARIANT_MARKER)
        if marker and base in old:
            found[base] = f"{old[base]} -> {old[base]} + {column} ({column_type})"
    return found


def summarize(change: dict[str, Any]) -> str:
    """One line for Dagster metadata and the CLI."""
    if change.get("new_table"):
        return f"new table with {len(change['added'])} columns"
    parts = []
    if change["added"]:
        parts.append("added " + ", ".join(f"{c} ({t})" for c, t in change["added"].items()))
    if change["changed"]:
        parts.append("type changed " + ", ".join(f"{c}: {t}" for c, t in change["changed"].items()))
    return "; ".join(parts) or "no column changes"
