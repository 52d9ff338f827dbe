"""`references` checks: a GX 1.x column map expectation whose condition is an IN subquery.

GX 1.x has no foreign-key expectation. This one is a plain ColumnMapExpectation, so GX itself
pushes the condition ``column IN (SELECT key FROM schema.table WHERE key IS NOT NULL)`` into
the warehouse (DuckDB or PostgreSQL) and computes unexpected_count, `mostly` and the partial
unexpected list as for any built-in map expectation. Nulls are ignored and each orphan row
counts, like dbt's `relationships` test.

Importing this module imports GX and registers the metric and the expectation; Python imports a
module once, so they register once per process. Import it only where checks run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from pipelines.governance.pii_detection import classify_column, pii_kind_of_values
from pipelines.spec.checks import CheckSpec, ReferencesCheck

METRIC = "column_values.in_table_column"
_TEXT_TYPE_NAME = re.compile(r"CHAR|TEXT|STRING", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,40}")


class ColumnValuesInTableColumn(ColumnMapMetricProvider):
    """True for a row whose value is a non-null key in ``to_schema.to_table.to_column``."""

    condition_metric_name = METRIC
    condition_value_keys = ("to_schema", "to_table", "to_column")

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        column: Any,
        to_schema: str,
        to_table: str,
        to_column: str,
        _execution_engine: Any,
        _metrics: dict[str, Any],
        **kwargs: Any,
    ) -> Any:
        target_type = _target_type(_execution_engine.engine, to_schema, to_table, to_column)
        own_type = next(
            (c["type"] for c in _metrics.get("table.column_types", []) if c["name"] == column.name),
            None,
        )
        key = sa.table(to_table, sa.column(to_column), schema=to_schema).c[to_column]
        wanted = key
        if _is_text(own_type) != _is_text(target_type):
            # `'123'` (a REST id) against `123` (a file's bigint): both warehouses refuse to
            # compare text with numbers; as text they match where the values are the same.
            column, wanted = sa.cast(column, sa.String), sa.cast(key, sa.String)
        # A NULL key would make `x NOT IN (...)` unknown for every orphan, hiding it.
        keys = sa.select(wanted).where(key.is_not(None))
        return column.in_(keys)


class ExpectColumnValuesToBeInTableColumn(ColumnMapExpectation):
    """Expect every non-null value of the column to exist in another table's column."""

    to_schema: str
    to_table: str
    to_column: str

    map_metric: ClassVar[str] = METRIC
    domain_keys: ClassVar[tuple[str, ...]] = ("column", "row_condition", "condition_parser")
    success_keys: ClassVar[tuple[str, ...]] = ("to_schema", "to_table", "to_column", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column", "to_schema", "to_table", "to_column")


def references_expectation(
    check: ReferencesCheck, source: str | None
) -> ExpectColumnValuesToBeInTableColumn:
    """The expectation for one `references` check on a table of ``source`` (its schema)."""
    if not source:
        raise ValueError(f"references to {check.to}: the checked table's source is not known")
    schema, table, column = check.target(source)
    mostly = {"mostly": check.mostly} if check.mostly is not None else {}
    return ExpectColumnValuesToBeInTableColumn(
        column=check.column, to_schema=schema, to_table=table, to_column=column, **mostly
    )


def visible_orphan_keys(
    check: CheckSpec, table: str, values: Sequence[Any], limit: int
) -> list[Any]:
    """Up to ``limit`` distinct orphan keys, raw, when each one is plainly an identifier.

    Ids and codes help an engineer find the missing parent; a person's email, name, phone or
    tax code must not leave the warehouse. So nothing is shown when either key column looks
    personal by its name, and a key is shown only when it is a short run of letters, digits,
    `_` and `-` that no value test takes for personal data (`+39 333...`, `Mario Rossi`,
    `RSSMRA85T10A562S` are all left out); the caller keeps value shapes for the rest.
    """
    if not isinstance(check, ReferencesCheck) or not values:
        return []
    to_table, to_column = check.to.split(".")[-2:]
    if classify_column(check.column, [], table) or classify_column(to_column, [], to_table):
        return []
    keys = list(dict.fromkeys(v if isinstance(v, int | str) else str(v) for v in values))
    shown = [key for key in keys if _plain_identifier(key)]
    return shown[:limit]


def _plain_identifier(key: Any) -> bool:
    """An integer, or a short token of letters, digits, `_` and `-` with a digit in it, that
    no value test calls personal (one value at a time: a list of mostly ids may hide one
    email)."""
    if isinstance(key, int):
        return not pii_kind_of_values([key])
    return (
        bool(_IDENTIFIER.fullmatch(key))
        and any(c.isdigit() for c in key)  # `cus_0042`, not a word that may be a name
        and not pii_kind_of_values([key])
    )


def _target_type(engine: Any, schema: str, table: str, column: str) -> Any:
    """The key column's SQLAlchemy type; a clear error when the table or the column is missing."""
    try:
        columns = sa.inspect(engine).get_columns(table, schema=schema)
    except sa.exc.NoSuchTableError:
        raise LookupError(
            f"references: table {schema}.{table} does not exist in the warehouse; load source "
            f"{schema} first, or fix to: in the check"
        ) from None
    types = {c["name"]: c["type"] for c in columns}
    if column not in types:
        raise LookupError(
            f"references: table {schema}.{table} has no column {column}; its columns are: "
            f"{', '.join(types)}"
        )
    return types[column]


def _is_text(column_type: Any) -> bool:
    """Whether a column holds text; GX's PostgreSQL datasource gives type names, not types."""
    if isinstance(column_type, sa.types.TypeEngine):
        return isinstance(column_type, sa.String)
    return column_type is not None and _TEXT_TYPE_NAME.search(str(column_type)) is not None
