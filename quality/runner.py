"""Run one table's checks as a GX suite with SQL pushdown against the warehouse."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from pipelines.spec.checks import CheckSpec

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found: pass/fail plus the facts an engineer needs to act."""

    table: str
    check_name: str
    severity: str
    passed: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    samples: list[Any] = field(default_factory=list)
    observed_value: Any = None
    error: str | None = None


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
            expectation = to_expectation(check, detailed=detailed)
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


def _no_progress_bars() -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    os.environ.setdefault("TQDM_DISABLE", "1")
    return ProgressBarsConfig(globally=False, metric_calculations=False)


def _outcome(table: str, check: CheckSpec, res: Any) -> CheckOutcome:
    info = res.result or {}
    error = None
    if res.exception_info:
        infos = res.exception_info
        if "exception_message" not in infos:
            infos = next(iter(infos.values()), {})
        if infos.get("raised_exception"):
            error = str(infos.get("exception_message"))
    samples = info.get("partial_unexpected_list") or []
    distinct = list(dict.fromkeys(_plain(v) for v in samples))[:SAMPLE_SIZE]
    return CheckOutcome(
        table=table,
        check_name=check.check_name,
        severity=check.severity,
        passed=bool(res.success) and error is None,
        unexpected_count=info.get("unexpected_count"),
        unexpected_percent=info.get("unexpected_percent"),
        samples=distinct,
        observed_value=_plain(info.get("observed_value")),
        error=error,
    )


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
