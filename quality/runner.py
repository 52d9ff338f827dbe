"""Run one table's checks as a GX suite with SQL pushdown against the warehouse.

Nothing raw leaves the warehouse: an outcome holds no value from the table but one kind of
key. A failing check reports counts, a percentage and at most `SAMPLE_SIZE` distinct value
*shapes* (`+39 333 1234567` -> `+99 999 9999999`, see `value_shape`), whatever the check kind
or the column, classified as PII or not. A failing `references` check also lists up to
`SAMPLE_SIZE` orphan keys as they are, but only when neither key column looks personal by its
name or by those keys (`references.visible_orphan_keys`): ids and codes, never an email. An
observed value is kept only where it is a statistic (row count, share of unique values), and
GX's error text only after `scrub_message`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from pipelines.runtime.value_errors import scrub_message, value_shape
from pipelines.spec.checks import CheckSpec, RowCountBetweenCheck, UniqueCheck

SAMPLE_SIZE = 5
# Checks whose GX observed value is an aggregate (a count or a proportion), never a row value.
_STATISTIC_CHECKS = (RowCountBetweenCheck, UniqueCheck)


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found: pass/fail plus the facts an engineer needs to act."""

    table: str
    check_name: str
    severity: str
    passed: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    value_shapes: list[Any] = field(default_factory=list)
    observed_value: int | float | None = None
    error: str | None = None
    # `references` only: orphan keys as they are, when they are not personal data
    orphan_keys: list[Any] = field(default_factory=list)


class WarehouseChecker:
    """Runs GX suites against one warehouse; create one per run step and reuse it per table."""

    def __init__(self, connection_string: str) -> None:
        import great_expectations as gx

        from quality import gx_duckdb_compat

        gx_duckdb_compat.install()
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        # Ephemeral: a gx/ folder or GX Cloud variables in the environment must not be picked up.
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = _no_progress_bars()
        # GX has a dedicated PostgreSQL datasource; DuckDB goes through the generic SQL one.
        add = (
            self._context.data_sources.add_postgres
            if connection_string.startswith("postgresql")
            else self._context.data_sources.add_sql
        )
        self._datasource = add(name="warehouse", connection_string=connection_string)

    def run(self, schema: str, table: str, checks: list[CheckSpec]) -> list[CheckOutcome]:
        """Validate ``checks`` on ``schema.table``; one outcome per check, in order.

        The first pass asks only for counts, which GX answers in a few bundled scans. Checks
        that fail get a second, detailed pass for their sample values.
        """
        from pipelines.spec.check_columns import missing_columns

        columns = self.columns(schema, table)  # none: the table is missing, GX says so
        missing = missing_columns(table, checks, columns) if columns else {}
        runnable = [i for i in range(len(checks)) if i not in missing]
        outcomes: list[CheckOutcome | None] = [
            missing_column_outcome(table, check, missing[i]) if i in missing else None
            for i, check in enumerate(checks)
        ]
        if runnable:
            found = self._run_suite(schema, table, [checks[i] for i in runnable])
            for index, outcome in zip(runnable, found, strict=True):
                outcomes[index] = outcome
        return outcomes  # type: ignore[return-value]  # every slot is filled

    def columns(self, schema: str, table: str) -> list[str]:
        """The columns of ``schema.table`` in the warehouse, in order (none if it is missing).

        A `LIMIT 0` query: SQLAlchemy's reflection takes 0.1-0.8 s on DuckDB, this 3 ms.
        """
        import sqlalchemy as sa

        query = sa.select(sa.text("*")).select_from(sa.table(table, schema=schema)).limit(0)
        try:
            with self._datasource.get_engine().connect() as connection:
                return list(connection.execute(query).keys())
        except sa.exc.DBAPIError:  # no such table: GX reports it on the checks
            return []

    def _run_suite(self, schema: str, table: str, checks: list[CheckSpec]) -> list[CheckOutcome]:
        asset_name = f"{schema}__{table}"
        asset = self._datasource.add_table_asset(
            name=asset_name, table_name=table, schema_name=schema
        )
        try:
            batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
            outcomes = self._validate(batch, asset_name, table, checks, detailed=False)
            failed = [i for i, outcome in enumerate(outcomes) if not outcome.passed]
            if failed:
                details = self._validate(
                    batch, asset_name, table, [checks[i] for i in failed], detailed=True
                )
                for index, outcome in zip(failed, details, strict=True):
                    outcomes[index] = outcome
        finally:
            self._datasource.delete_asset(asset_name)
        return outcomes

    def _validate(
        self, batch: Any, name: str, table: str, checks: list[CheckSpec], detailed: bool
    ) -> list[CheckOutcome]:
        from quality.expectations import to_expectation

        suite = self._gx.ExpectationSuite(name=f"{name}__{'detailed' if detailed else 'counts'}")
        for index, check in enumerate(checks):
            expectation = to_expectation(
                check, detailed=detailed, source=batch.data_asset.schema_name
            )
            expectation.meta = {"sourcegate_index": index}
            suite.add_expectation(expectation)
        result_format = (
            {"result_format": "SUMMARY", "partial_unexpected_count": 20}
            if detailed
            else {"result_format": "BASIC", "partial_unexpected_count": 0}
        )
        result = batch.validate(suite, result_format=result_format)
        # GX groups results by domain, not in suite order: match them back by our index.
        by_index = {res.expectation_config.meta["sourcegate_index"]: res for res in result.results}
        return [_outcome(table, check, by_index[i]) for i, check in enumerate(checks)]

    def close(self) -> None:
        """Release the warehouse file (DuckDB allows one writer process at a time)."""
        from quality import gx_duckdb_compat

        gx_duckdb_compat.release_connections(self._datasource)
        self._context = None
        self._datasource = None


def missing_column_outcome(table: str, check: CheckSpec, message: str) -> CheckOutcome:
    """A check on a column the table lacks: failed, with the message naming the fix (this
    needs no GX, so `preview` reports it without importing GX)."""
    return CheckOutcome(
        table=table,
        check_name=check.check_name,
        severity=check.severity,
        passed=False,
        error=message,
    )


def _no_progress_bars() -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    os.environ.setdefault("TQDM_DISABLE", "1")
    return ProgressBarsConfig(globally=False, metric_calculations=False)


def _outcome(table: str, check: CheckSpec, res: Any) -> CheckOutcome:
    from quality.references import visible_orphan_keys

    info = res.result or {}
    error = None
    if res.exception_info:
        infos = res.exception_info
        if "exception_message" not in infos:
            infos = next(iter(infos.values()), {})
        if infos.get("raised_exception"):
            error = scrub_message(str(infos.get("exception_message"))) or "the check raised"
    return CheckOutcome(
        table=table,
        check_name=check.check_name,
        severity=check.severity,
        passed=bool(res.success) and error is None,
        unexpected_count=info.get("unexpected_count"),
        unexpected_percent=info.get("unexpected_percent"),
        value_shapes=_shapes(info.get("partial_unexpected_list") or []),
        observed_value=_statistic(check, info.get("observed_value")),
        error=error,
        orphan_keys=visible_orphan_keys(
            check, table, info.get("partial_unexpected_list") or [], SAMPLE_SIZE
        ),
    )


def _shapes(values: list[Any]) -> list[Any]:
    """Up to `SAMPLE_SIZE` distinct shapes, in order; a row of several columns (compound
    checks) becomes {column: shape}."""
    shapes: dict[str, Any] = {}
    for value in values:
        if isinstance(value, dict):
            shape: Any = {str(k): value_shape(v) for k, v in value.items()}
        else:
            shape = value_shape(value)
        shapes.setdefault(json.dumps(shape, sort_keys=True), shape)
        if len(shapes) == SAMPLE_SIZE:
            break
    return list(shapes.values())


def _statistic(check: CheckSpec, observed: Any) -> int | float | None:
    """GX's observed value when it is a number about the table, else nothing."""
    if not isinstance(check, _STATISTIC_CHECKS) or isinstance(observed, bool):
        return None
    return observed if isinstance(observed, int | float) else None
