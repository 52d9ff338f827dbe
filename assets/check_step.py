"""Run the checks selected in a step against the warehouse and yield Dagster results."""

from __future__ import annotations

from collections.abc import Iterator

from dagster import AssetCheckResult, AssetExecutionContext

from assets.resources import WarehouseResource
from pipelines.spec.checks import named_checks
from pipelines.spec.registry import LoadedSource
from quality.asset_checks import to_check_results


def run_selected_checks(
    context: AssetExecutionContext, source: LoadedSource, warehouse: WarehouseResource
) -> Iterator[AssetCheckResult]:
    """GX is imported once per step, and each table's checks run as one suite."""
    from quality.runner import WarehouseChecker

    spec = source.spec
    selected = {(key.asset_key.path[-1], key.name) for key in context.selected_asset_check_keys}
    checker = WarehouseChecker(warehouse.get().sqlalchemy_url())
    try:
        for table, checks in spec.checks.items():
            chosen = [(n, c) for n, c in named_checks(checks) if (table, n) in selected]
            if not chosen:
                continue
            context.log.info(f"{spec.name}.{table}: running {len(chosen)} checks")
            outcomes = checker.run(spec.name, table, [c for _, c in chosen])
            yield from to_check_results(
                spec.name, zip([n for n, _ in chosen], outcomes, strict=True)
            )
    finally:
        checker.close()
