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
from pipelines.governance.pii_hashing import is_email_column
from pipelines.runtime.warehouse import quote_identifier
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
    """Every `pii.hash` entry whose column is an email, across ``sources``.

    A nested rule (`billing.email`) names the column dlt lands (`billing__email`).
    """
    found = []
    for source in sources:
        for entry in source.spec.pii.hash:
            table, column = entry.split(".", 1)
            if is_email_column(column):
                found.append(EmailColumn(source.name, table, column.replace(".", "__")))
    return found


def landed_columns(
    columns: list[EmailColumn], present: set[tuple[str, str, str]]
) -> tuple[list[EmailColumn], list[EmailColumn]]:
    """``columns`` resolved to the warehouse's own names (case-insensitively), and those whose
    table or column has not landed. Only landed names ever reach the SQL."""
    by_lower = {(s, t, c.lower()): (s, t, c) for s, t, c in present}
    usable, missing = [], []
    for column in columns:
        found = by_lower.get((column.source, column.table, column.column.lower()))
        if found is None:
            missing.append(column)
        else:
            usable.append(EmailColumn(*found))
    return usable, missing


def render_sql(columns: list[EmailColumn]) -> str:
    """The mart's SQL with one union branch per hashed email column.

    Source, table and column come from YAML: each is quoted as an identifier (the source name
    also as a string literal), so no name can change the statement.
    """
    branches = [
        f"select {quote_identifier(c.column)} as email_hash, {_literal(c.source)} as source "
        f"from {quote_identifier(c.source)}.{quote_identifier(c.table)} "
        f"where {quote_identifier(c.column)} is not null"
        for c in columns
    ]
    return SQL_FILE.read_text().replace("{email_sources}", "\n    union all\n    ".join(branches))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
                target.query(
                    "select table_schema, table_name, column_name from information_schema.columns"
                )
            )
            usable, missing = landed_columns(columns, present)
            if missing:
                left_out = ", ".join(f"{c.source}.{c.table}.{c.column}" for c in missing)
                context.log.info(f"not loaded yet, left out: {left_out}")
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
