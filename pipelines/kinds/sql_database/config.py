"""The `sql_database:` block: tables copied from any SQLAlchemy database."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from pipelines.governance.secrets import SecretRef
from pipelines.spec.fields import DataType, StrictModel, WriteDisposition, check_identifier


class SqlIncremental(StrictModel):
    """Read only rows whose cursor column grew since the last run."""

    cursor_column: str
    initial_value: Any = None


class SqlTableSpec(StrictModel):
    """One table to copy, with its key and optional cursor."""

    name: str
    primary_key: str | list[str] | None = None
    incremental: SqlIncremental | None = None
    write_disposition: WriteDisposition | None = None
    columns: dict[str, DataType] | None = None

    _name = field_validator("name")(lambda v: check_identifier(v, "table name"))


class SqlDatabaseSpec(StrictModel):
    """Tables read from any SQLAlchemy database."""

    credentials: SecretRef = Field(description="SQLAlchemy URL, always as {secret: NAME}.")
    schema_: str | None = Field(default=None, alias="schema")
    tables: list[SqlTableSpec] = Field(min_length=1)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
