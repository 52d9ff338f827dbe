"""`customer_profiles`: one row per hashed email across every source that declares one."""

from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.resources import WAREHOUSE_POOL, WarehouseResource
from pipelines.governance.pii import is_email_column
from pipelines.spec.registry import LoadedSource

MART_KEY = AssetKey(["marts", "customer_profiles"])
REQUIRED_SOURCES = ("crm_contacts", "webshop_orders")
SQL_FILE = Path(__file__).with_suffix(".sql")


@dataclass(frozen=True)
class EmailColumn:
    """A hashed email column some source lands."""

    source: str
    table: str
    column: str


def hashed_email_columns(sources: list[LoadedSource]) -> list[EmailColumn]:
    """Every `pii.hash` entry whose column is an email, across ``sources``."""
    found = []
    for source in sources:
        for entry in source.spec.pii.hash:
            table, column = entry.split(".")
            if is_email_column(column):
                found.append(EmailColumn(source.name, table, column))
    return found


def render_sql(columns: list[EmailColumn]) -> str:
    """The mart's SQL with one union branch per hashed email column."""
    branches = [
        f"select {c.column} as email_hash, '{c.source}' as source "
        f"from {c.source}.{c.table} where {c.column} is not null"
        for c in columns
    ]
    return SQL_FILE.read_text().replace("{email_sources}", "\n    union all\n    ".join(branches))


def build_customer_profiles(sources: list[LoadedSource]) -> AssetsDefinition | None:
    """The mart asset, or None when the sources it is built on are not all defined."""
    names = {s.name for s in sources}
    if not all(name in names for name in REQUIRED_SOURCES):
        return None
    columns = hashed_email_columns(sources)
    deps = sorted({AssetKey([c.source, c.table]) for c in columns}, key=lambda k: k.path)

    @asset(
        key=MART_KEY,
        deps=deps,
        group_name="marts",
        description=(
            "One row per hashed email: first seen, last order, order count, revenue (paid and "
            "shipped orders) and the sources the person appears in."
        ),
        owners=["team:data-platform"],
        kinds={"duckdb", "sql"},
        pool=WAREHOUSE_POOL,
        metadata={"sql_file": str(SQL_FILE.name), "dagster/table_name": "marts.customer_profiles"},
        check_specs=[
            AssetCheckSpec("unique__email_hash", asset=MART_KEY, description="one row per person"),
        ],
        # Automation waits for upstream blocking checks: a failed production check stops the mart.
        automation_condition=AutomationCondition.eager()
        & AutomationCondition.all_deps_blocking_checks_passed(),
    )
    def customer_profiles(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.writer_lock(context, "marts") as target:
            present = set(
                target.query("select table_schema, table_name from information_schema.tables")
            )
            usable = [c for c in columns if (c.source, c.table) in present]
            skipped = sorted({c.source for c in columns} - {c.source for c in usable})
            if skipped:
                context.log.info(f"not loaded yet, left out: {', '.join(skipped)}")
            # Rebuilt in one transaction: readers see the old table or the new one, never half.
            target.execute_transaction(
                [
                    "create schema if not exists marts",
                    "drop table if exists marts.customer_profiles",
                    render_sql(usable),
                ]
            )
            ((rows, distinct),) = target.query(
                "select count(*), count(distinct email_hash) from marts.customer_profiles"
            )
        yield MaterializeResult(
            metadata={
                "dagster/row_count": MetadataValue.int(rows),
                "sources_used": MetadataValue.json([c.source for c in usable]),
                "dagster/table_name": MetadataValue.text(
                    f"{target.catalog}.marts.customer_profiles"
                ),
            }
        )
        yield AssetCheckResult(
            check_name="unique__email_hash",
            passed=rows == distinct,
            metadata={"unexpected_count": MetadataValue.int(rows - distinct)},
        )

    return customer_profiles
