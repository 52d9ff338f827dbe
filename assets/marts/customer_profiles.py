"""`customer_profiles`: one row per hashed email across every enabled source that declares one.

The mart reads the whole registry, whichever sources a run loaded. What it reads is decided
when it runs, from what the warehouse holds: a source whose table or column has not landed, or
landed as something other than text, or cannot be read, is left out, named in the `left_out`
metadata and logged as a warning. The mart never fails for it. Blocking checks of production
sources still stop it (Dagster in a run and in automation; `sourcegate run` in
`pipelines/cli/run.py`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
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
_TEXT_TYPES = ("varchar", "text", "character varying", "string")


@dataclass(frozen=True)
class EmailColumn:
    """A hashed email column some source lands."""

    source: str
    table: str
    column: str


@dataclass(frozen=True)
class BaseTable:
    """A table the SQL reads by name (`{<placeholder>}`), with the columns it uses and their
    types for the empty stand-in used while the table has not landed with them."""

    placeholder: str
    source: str
    table: str
    columns: tuple[tuple[str, str], ...]

    def stand_in(self) -> str:
        """An empty table with the same columns: the SQL still runs, with no rows from it."""
        columns = ", ".join(f"cast(null as {kind}) as {name}" for name, kind in self.columns)
        return f"(select {columns} where 1 = 0) as missing_{self.table}"


BASE_TABLES = (
    BaseTable(
        "contacts_table",
        "crm_contacts",
        "contacts",
        (("email", "varchar"), ("created_at", "timestamp with time zone")),
    ),
    BaseTable(
        "orders_table",
        "webshop_orders",
        "orders",
        (
            ("customer_email", "varchar"),
            ("ordered_at", "timestamp with time zone"),
            ("total_amount", "double precision"),
            ("status", "varchar"),
        ),
    ),
)


@dataclass(frozen=True)
class LeftOut:
    """A table or column the mart did not read this time, and why."""

    source: str
    table: str
    column: str | None
    reason: str

    def __str__(self) -> str:
        column = f".{self.column}" if self.column else ""
        return f"{self.source}.{self.table}{column}: {self.reason}"


# (schema, table, lower-case column) -> (schema, table, column as landed, data type)
Landed = dict[tuple[str, str, str], tuple[str, str, str, str]]


def mart_sources(sources: list[LoadedSource]) -> list[LoadedSource]:
    """The sources of ``sources`` the mart reads: the base sources and every source that
    hashes an email. Empty when the base sources are not all among ``sources`` (no mart)."""
    names = {s.name for s in sources}
    if not all(name in names for name in REQUIRED_SOURCES):
        return []
    readers = {c.source for c in hashed_email_columns(sources)} | set(REQUIRED_SOURCES)
    return [s for s in sources if s.name in readers]


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
    columns: list[EmailColumn], present: Landed
) -> tuple[list[EmailColumn], list[LeftOut]]:
    """``columns`` resolved to the warehouse's own names (case-insensitively), and those left
    out: table or column not landed, or not text. Only landed names ever reach the SQL."""
    tables = {(schema, table) for schema, table, _ in present}
    usable, left_out = [], []
    for column in columns:
        found = present.get((column.source, column.table, column.column.lower()))
        reason = None
        if (column.source, column.table) not in tables:
            reason = "the table is not in the warehouse (not loaded yet, or its load failed)"
        elif found is None:
            reason = "the table has no such column"
        elif not _is_text(found[3]):
            reason = f"the column is {found[3]}, not text (a hashed email is text)"
        if reason:
            left_out.append(LeftOut(column.source, column.table, column.column, reason))
        else:
            usable.append(EmailColumn(*found[:3]))
    return usable, left_out


def missing_base_tables(present: Landed) -> list[tuple[BaseTable, LeftOut]]:
    """Base tables that have not landed with every column the SQL uses."""
    missing = []
    for base in BASE_TABLES:
        absent = [
            name for name, _ in base.columns if (base.source, base.table, name) not in present
        ]
        if absent:
            reason = f"no column {', '.join(absent)} in the warehouse; read as empty"
            missing.append((base, LeftOut(base.source, base.table, None, reason)))
    return missing


def _is_text(data_type: str) -> bool:
    kind = data_type.lower()
    return kind in _TEXT_TYPES or kind.startswith(("varchar(", "character varying("))


def _branch(column: EmailColumn) -> str:
    name = quote_identifier(column.column)
    return (
        f"select {name} as email_hash, {_literal(column.source)} as source "
        f"from {quote_identifier(column.source)}.{quote_identifier(column.table)} "
        f"where {name} is not null"
    )


def render_sql(columns: list[EmailColumn], stand_ins: list[BaseTable] | None = None) -> str:
    """The mart's SQL with one union branch per hashed email column; each base table in
    ``stand_ins`` is read as an empty table.

    Source, table and column come from YAML: each is quoted as an identifier (the source name
    also as a string literal), so no name can change the statement.
    """
    branches = [_branch(c) for c in columns] or [
        "select cast(null as varchar) as email_hash, cast(null as varchar) as source where 1 = 0"
    ]
    sql = SQL_FILE.read_text().replace("{email_sources}", "\n    union all\n    ".join(branches))
    empty = {base.placeholder for base in stand_ins or []}
    for base in BASE_TABLES:
        table = (
            base.stand_in()
            if base.placeholder in empty
            else f"{quote_identifier(base.source)}.{quote_identifier(base.table)}"
        )
        sql = sql.replace("{" + base.placeholder + "}", table)
    return sql


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _readable(target: Any, columns: list[EmailColumn]) -> tuple[list[EmailColumn], list[LeftOut]]:
    """``columns`` whose branch the warehouse can run; the others left out (error class only:
    a database error may quote data)."""
    usable, left_out = [], []
    for column in columns:
        try:
            target.query(f"select * from ({_branch(column)}) as probe where 1 = 0")
        except Exception as exc:  # any failure to read leaves the source out
            reason = f"the table cannot be read ({type(exc).__name__})"
            left_out.append(LeftOut(column.source, column.table, column.column, reason))
        else:
            usable.append(column)
    return usable, left_out


def _asset_key(source: LoadedSource, table: str) -> AssetKey:
    """The asset that lands ``table``: a nested table (`orders__items`) lands with its parent."""
    tables = source.spec.table_names()
    parent = next((t for t in tables if table == t or table.startswith(f"{t}__")), table)
    return AssetKey([source.name, parent])


def build_customer_profiles(sources: list[LoadedSource]) -> AssetsDefinition | None:
    """The mart asset over ``sources`` (pass every enabled source of the registry), or None
    when the base sources are not among them."""
    readers = mart_sources(sources)
    if not readers:
        return None
    columns = hashed_email_columns(readers)
    by_name = {s.name: s for s in readers}
    deps = {_asset_key(by_name[c.source], c.table) for c in columns}
    base_keys = [AssetKey([b.source, b.table]) for b in BASE_TABLES]
    deps = sorted(deps | set(base_keys), key=lambda k: k.path)
    # Eager, but only the base tables must exist: a source that never loaded (a pilot without
    # its token) is left out rather than holding the mart back. Blocking checks still stop it.
    automation = (
        AutomationCondition.eager().replace(
            "any_deps_missing",
            AutomationCondition.any_deps_missing().allow(AssetSelection.assets(*base_keys)),
        )
        & AutomationCondition.all_deps_blocking_checks_passed()
    )

    @asset(
        key=MART_KEY,
        deps=deps,
        group_name="marts",
        description=(
            "One row per hashed email: first seen, last order, order count, revenue (paid and "
            "shipped orders) and the sources the person appears in. Reads every enabled source "
            "that hashes an email; a source whose table is missing or unreadable is left out "
            "(see `left_out`)."
        ),
        owners=["team:data-platform"],
        kinds={"duckdb", "sql"},
        pool=WAREHOUSE_POOL,
        metadata={"sql_file": str(SQL_FILE.name), "dagster/table_name": "marts.customer_profiles"},
        check_specs=[
            AssetCheckSpec("unique__email_hash", asset=MART_KEY, description="one row per person"),
        ],
        # Automation waits for upstream blocking checks: a failed production check stops the mart.
        automation_condition=automation,
    )
    def customer_profiles(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.writer_lock(context, "marts") as target:
            present: Landed = {
                (schema, table, column.lower()): (schema, table, column, str(kind))
                for schema, table, column, kind in target.query(
                    "select table_schema, table_name, column_name, data_type "
                    "from information_schema.columns"
                )
            }
            usable, left_out = landed_columns(columns, present)
            usable, unreadable = _readable(target, usable)
            missing = missing_base_tables(present)
            left_out += unreadable + [entry for _, entry in missing]
            if left_out:
                context.log.warning(f"left out: {'; '.join(str(e) for e in left_out)}")
            # Rebuilt in one transaction: readers see the old table or the new one, never half.
            target.execute_transaction(
                [
                    "create schema if not exists marts",
                    "drop table if exists marts.customer_profiles",
                    render_sql(usable, [base for base, _ in missing]),
                ]
            )
            ((rows, distinct),) = target.query(
                "select count(*), count(distinct email_hash) from marts.customer_profiles"
            )
        yield MaterializeResult(
            metadata={
                "dagster/row_count": MetadataValue.int(rows),
                "sources_used": MetadataValue.json([c.source for c in usable]),
                "left_out": MetadataValue.json([str(e) for e in left_out]),
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
