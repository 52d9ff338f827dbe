"""Workarounds for Great Expectations 1.24.1 on DuckDB (duckdb-engine), isolated here.

GX runs every metric query inside ``with engine.connect()`` and fetches the rows after the
connection has closed; DuckDB's driver returns no rows then, so every expectation fails with
``list index out of range`` (great_expectations issues #10738 and #11579). GX also has no regex
translation for the duckdb dialect and raises "Regex is not supported for dialect duckdb".

A third, smaller problem: GX keeps two SQLAlchemy engines per datasource, and a DuckDB
connection left open pins the file to its configuration, so the next dlt load in the same
process fails with "different configuration than existing connections". ``release_connections``
closes both.

``install()`` patches the first two, once per process, and is a no-op for other dialects: the
buffered result is a plain SQLAlchemy ``Result`` and the regex hook only answers for duckdb.
"""

from __future__ import annotations

import threading
from typing import Any

_installed = False
_lock = threading.Lock()


def install() -> None:
    """Apply both DuckDB fixes to the imported GX modules (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        _buffer_query_results()
        _teach_duckdb_regex()
        _installed = True


def _buffer_query_results() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    engine_cls = engine_module.SqlAlchemyExecutionEngine

    def execute_query(self: Any, query: Any) -> Any:
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            # A frozen result holds its rows in memory, so it outlives the connection.
            return result.freeze()() if result.returns_rows else result

    engine_cls.execute_query = execute_query


def _teach_duckdb_regex() -> None:
    import sqlalchemy as sa
    from great_expectations.expectations.metrics import util as metrics_util

    original = metrics_util.get_dialect_regex_expression

    def get_dialect_regex_expression(
        column: Any, regex: str, dialect: Any, positive: bool = True
    ) -> Any:
        if _dialect_name(dialect) == "duckdb":
            matches = sa.func.regexp_matches(column, sa.literal(regex))
            return matches if positive else sa.not_(matches)
        return original(column, regex, dialect, positive)

    metrics_util.get_dialect_regex_expression = get_dialect_regex_expression
    # The metric modules imported the function by name, so rebind it where it is used.
    from great_expectations.expectations.metrics.column_aggregate_metrics import (
        column_values_match_regex_values,
        column_values_not_match_regex_values,
    )
    from great_expectations.expectations.metrics.column_map_metrics import (
        column_values_match_regex,
        column_values_match_regex_list,
        column_values_not_match_regex,
        column_values_not_match_regex_list,
    )

    for module in (
        column_values_match_regex,
        column_values_match_regex_list,
        column_values_not_match_regex,
        column_values_not_match_regex_list,
        column_values_match_regex_values,
        column_values_not_match_regex_values,
    ):
        if hasattr(module, "get_dialect_regex_expression"):
            module.get_dialect_regex_expression = get_dialect_regex_expression


def _dialect_name(dialect: Any) -> str:
    """Return the dialect name whether GX hands us a module, a dialect class or an instance."""
    candidate = getattr(dialect, "dialect", dialect)
    name = getattr(candidate, "name", None)
    if isinstance(name, str):
        return name
    module_name = getattr(dialect, "__name__", "") or type(dialect).__module__
    return "duckdb" if "duckdb" in module_name else str(name)


def release_connections(datasource: Any) -> None:
    """Close every pooled connection a GX SQL datasource opened (both of its engines)."""
    engines = [datasource.get_engine(), getattr(datasource.get_execution_engine(), "engine", None)]
    for engine in engines:
        if engine is not None:
            engine.dispose()
