"""Checks as Dagster asset checks: specs from the YAML alone, results from GX outcomes.

Check metadata is stored in the Dagster event log and shown in the UI, so it holds what
`quality.runner` keeps and nothing else: counts, a percentage, value shapes, statistics, and
for a `references` check a few orphan keys, only when they are not personal data.

A `references` check names the table it reads as an additional dependency of the check, not of
the asset: the lineage shows it, and the load itself never waits for another source. Dagster
gives a check's extra dependency in a multi-asset no input, so it does not order steps either;
a run that loads both sources may check against the other table as it was before that run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from pipelines.spec.checks import CheckSpec, ReferencesCheck, named_checks
from pipelines.spec.registry import LoadedSource
from quality.runner import CheckOutcome


def check_specs_for(source: LoadedSource) -> list[AssetCheckSpec]:
    """One AssetCheckSpec per `checks:` entry; blocking for error checks in production."""
    spec = source.spec
    specs = []
    for table, checks in spec.checks.items():
        for name, check in named_checks(checks):
            asset = AssetKey([spec.name, table])
            metadata = {"severity": check.severity, "expect": check.expect}
            reads = []
            if isinstance(check, ReferencesCheck):
                target = check.target(spec.name)
                metadata["references"] = ".".join(target)
                if AssetKey(list(target[:2])) != asset:  # Dagster refuses a self-dependency
                    reads = [AssetKey(list(target[:2]))]
            specs.append(
                AssetCheckSpec(
                    name=name,
                    asset=asset,
                    description=check.description or _describe(check, spec.name),
                    blocking=spec.stage == "production" and check.severity == "error",
                    metadata=metadata,
                    additional_deps=reads,
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
        if outcome.orphan_keys:
            # ids or codes, never personal data (see `quality.references.visible_orphan_keys`)
            metadata["orphan_keys"] = MetadataValue.json(outcome.orphan_keys)
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


def _describe(check: CheckSpec, source: str) -> str:
    if isinstance(check, ReferencesCheck):
        return (
            f"every non-null {check.column} is found in {'.'.join(check.target(source))}; "
            "unexpected_count counts the orphan rows"
        )
    columns = ", ".join(check.columns_used())
    return f"{check.expect.replace('_', ' ')}" + (f" on {columns}" if columns else "")
