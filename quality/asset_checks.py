"""Checks as Dagster asset checks: specs from the YAML alone, results from GX outcomes.

Check metadata is stored in the Dagster event log and shown in the UI, so it holds no value
from the data (`quality.runner` keeps none): counts, a percentage, value shapes, statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from pipelines.spec.checks import CheckSpec, named_checks
from pipelines.spec.registry import LoadedSource
from quality.runner import CheckOutcome


def check_specs_for(source: LoadedSource) -> list[AssetCheckSpec]:
    """One AssetCheckSpec per `checks:` entry; blocking for error checks in production."""
    spec = source.spec
    specs = []
    for table, checks in spec.checks.items():
        for name, check in named_checks(checks):
            specs.append(
                AssetCheckSpec(
                    name=name,
                    asset=AssetKey([spec.name, table]),
                    description=check.description or _describe(check),
                    blocking=spec.stage == "production" and check.severity == "error",
                    metadata={"severity": check.severity, "expect": check.expect},
                )
            )
    return specs


def to_check_results(
    source: str, outcomes: Iterable[tuple[str, CheckOutcome]]
) -> list[AssetCheckResult]:
    """Dagster results with the unexpected count, percentage and value shapes as metadata."""
    results = []
    for name, outcome in outcomes:
        metadata: dict[str, Any] = {}
        if outcome.unexpected_count is not None:
            metadata["unexpected_count"] = MetadataValue.int(int(outcome.unexpected_count))
        if outcome.unexpected_percent is not None:
            metadata["unexpected_percent"] = MetadataValue.float(
                round(float(outcome.unexpected_percent), 4)
            )
        if outcome.value_shapes:
            # digits as 9, letters as X: the format of what failed, never the values
            metadata["unexpected_value_shapes"] = MetadataValue.json(outcome.value_shapes)
        if outcome.observed_value is not None:
            metadata["observed_value"] = MetadataValue.text(str(outcome.observed_value))
        if outcome.error:
            metadata["error"] = MetadataValue.text(outcome.error)
        results.append(
            AssetCheckResult(
                asset_key=AssetKey([source, outcome.table]),
                check_name=name,
                passed=outcome.passed,
                severity=AssetCheckSeverity.WARN
                if outcome.severity == "warn"
                else AssetCheckSeverity.ERROR,
                metadata=metadata,
            )
        )
    return results


def _describe(check: CheckSpec) -> str:
    columns = ", ".join(check.columns_used())
    return f"{check.expect.replace('_', ' ')}" + (f" on {columns}" if columns else "")
