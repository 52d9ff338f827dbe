"""SQL databases: tables copied with dlt's `sql_database` source, as Arrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.kinds.base import BuildContext, KnownColumns, PathT, SourceKind
from pipelines.spec.fields import as_list

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec


class SqlDatabaseKind(SourceKind):
    """The `sql_database:` block."""

    key = "sql_database"
    secret_suffix = "_DB_URL"

    def table_names(self, spec: SourceSpec) -> list[str]:
        """The tables listed, in file order."""
        return [table.name for table in spec.sql_database.tables]

    def declared_columns(self, spec: SourceSpec) -> dict[tuple[str, str], PathT]:
        """Primary keys, incremental cursors and the columns given a type."""
        found: dict[tuple[str, str], PathT] = {}
        for index, table in enumerate(spec.sql_database.tables):
            path: PathT = ("sql_database", "tables", index)
            for column in as_list(table.primary_key):
                found.setdefault((table.name, column), path)
            if table.incremental:
                found.setdefault((table.name, table.incremental.cursor_column), path)
            for column in table.columns or {}:
                found.setdefault((table.name, column), (*path, "columns", column))
        return found

    def primary_keys(self, spec: SourceSpec) -> dict[str, list[str]]:
        """Each listed table's `primary_key`."""
        return {t.name: as_list(t.primary_key) for t in spec.sql_database.tables}

    def columns_before_load(self, spec: SourceSpec) -> dict[str, KnownColumns]:
        """The tables' columns, reflected from the database when its URL secret is set and it
        answers within a few seconds; else nothing (the run reports a missing column)."""
        from pipelines.kinds.sql_database.reflect import reflected_columns

        return reflected_columns(spec)

    def build_source(self, spec: SourceSpec, context: BuildContext) -> Any:
        """dlt's `sql_database` source (pyarrow backend) with each table's hints."""
        import dlt
        from dlt.sources.sql_database import sql_database

        from pipelines.governance.secrets import resolve_secrets

        sql = spec.sql_database
        url = resolve_secrets(sql.credentials.model_dump(), spec.name)
        source = sql_database(
            credentials=url,
            schema=sql.schema_,
            table_names=[t.name for t in sql.tables],
            backend="pyarrow",
        )
        for table in sql.tables:
            hints: dict[str, Any] = {
                "write_disposition": table.write_disposition
                or ("merge" if table.primary_key else "replace")
            }
            if table.primary_key:
                hints["primary_key"] = table.primary_key
            if table.columns:
                hints["columns"] = {c: {"data_type": t} for c, t in table.columns.items()}
            if table.incremental:
                hints["incremental"] = dlt.sources.incremental(
                    table.incremental.cursor_column, initial_value=table.incremental.initial_value
                )
            source.resources[table.name].apply_hints(**hints)
        return source
