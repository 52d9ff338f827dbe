"""The source file contract: pydantic models for one `sources/<name>.yaml`."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.checks_spec import CheckSpec
from pipelines.secrets import SecretRef, contains_secret_refs

NAME_PATTERN = r"^[a-z][a-z0-9_]{2,40}$"
IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]*$"
OWNER_PATTERN = r"^(team:[a-z0-9][a-z0-9_-]*|[^@\s]+@[^@\s]+\.[^@\s]+)$"
_OWNER_RE = re.compile(OWNER_PATTERN)
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)

WriteDisposition = Literal["append", "replace", "merge"]
ContractMode = Literal["evolve", "freeze", "discard_row", "discard_value"]
DataType = Literal[
    "text", "bigint", "double", "decimal", "bool", "timestamp", "date", "time", "json", "binary"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_identifier(value: str, what: str) -> str:
    if not _IDENTIFIER_RE.match(value):
        raise ValueError(
            f"{what} {value!r} must be lower-case letters, digits and underscores "
            f"(for example {re.sub(r'[^a-z0-9_]+', '_', value.lower()).strip('_') or 'orders'!r})"
        )
    return value


class FilesSpec(_Strict):
    """A drop of CSV, JSONL or parquet files in a folder or bucket."""

    bucket_url: str = Field(
        min_length=1, description="Folder relative to the repo, or an fsspec URL."
    )
    file_glob: str = "*"
    format: Literal["csv", "jsonl", "parquet"]
    table: str
    primary_key: str | list[str] | None = None
    write_disposition: WriteDisposition | None = Field(
        default=None, description="Defaults to merge with a primary key, otherwise replace."
    )
    csv_delimiter: str = Field(default=",", min_length=1, max_length=1)
    reader: Literal["fast", "rows"] = Field(
        default="fast", description="fast: Arrow batches (default); rows: dlt's row readers."
    )
    columns: dict[str, DataType] | None = Field(
        default=None, description="Column types to enforce, e.g. {zip_code: text}."
    )

    _table = field_validator("table")(lambda v: _check_identifier(v, "table name"))

    @model_validator(mode="after")
    def _merge_needs_key(self) -> FilesSpec:
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError("write_disposition 'merge' needs a primary_key")
        return self

    @property
    def effective_write_disposition(self) -> WriteDisposition:
        """The disposition used when the file leaves it out."""
        if self.write_disposition:
            return self.write_disposition
        return "merge" if self.primary_key else "replace"


class SqlIncremental(_Strict):
    """Read only rows whose cursor column grew since the last run."""

    cursor_column: str
    initial_value: Any = None


class SqlTableSpec(_Strict):
    """One table to copy, with its key and optional cursor."""

    name: str
    primary_key: str | list[str] | None = None
    incremental: SqlIncremental | None = None
    write_disposition: WriteDisposition | None = None
    columns: dict[str, DataType] | None = None

    _name = field_validator("name")(lambda v: _check_identifier(v, "table name"))


class SqlDatabaseSpec(_Strict):
    """Tables read from any SQLAlchemy database."""

    credentials: SecretRef = Field(description="SQLAlchemy URL, always as {secret: NAME}.")
    schema_: str | None = Field(default=None, alias="schema")
    tables: list[SqlTableSpec] = Field(min_length=1)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PiiRules(_Strict):
    """Columns (as `table.column`) to hash or drop before anything lands."""

    hash: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)

    @field_validator("hash", "drop")
    @classmethod
    def _qualified(cls, values: list[str]) -> list[str]:
        for value in values:
            if value.count(".") != 1 or not all(value.split(".")):
                raise ValueError(f"{value!r} must be written as table.column, e.g. contacts.email")
        return values

    def columns_for(self, table: str, rule: Literal["hash", "drop"]) -> list[str]:
        """Column names under ``rule`` for one table."""
        return [col for tbl, col in (v.split(".") for v in getattr(self, rule)) if tbl == table]


class RetrySpec(_Strict):
    """How Dagster retries a failed load of this source (step retries, then run retries)."""

    max_retries: int = Field(default=2, ge=0, le=10)
    delay_seconds: float = Field(default=30, ge=0, le=3600)


class HttpSpec(_Strict):
    """REST only: dlt's request settings for this source (dlt's defaults when left out)."""

    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    backoff_factor: float | None = Field(default=None, ge=0, le=60)
    max_retry_delay_seconds: float | None = Field(default=None, ge=0, le=3600)

    def as_dlt_runtime(self) -> dict[str, str]:
        """The `RUNTIME__REQUEST_*` settings dlt's HTTP client reads."""
        mapping = {
            "REQUEST_TIMEOUT": self.timeout_seconds,
            "REQUEST_MAX_ATTEMPTS": self.max_attempts,
            "REQUEST_BACKOFF_FACTOR": self.backoff_factor,
            "REQUEST_MAX_RETRY_DELAY": self.max_retry_delay_seconds,
        }
        return {f"RUNTIME__{k}": str(v) for k, v in mapping.items() if v is not None}


class ContractSpec(_Strict):
    """dlt schema contract: what happens to new tables, new columns and changed types."""

    tables: ContractMode = "evolve"
    columns: ContractMode = "evolve"
    data_type: ContractMode = "evolve"


class SourceSpec(_Strict):
    """One marketing data source, exactly as a marketer writes it."""

    name: str = Field(description="Must equal the file name without .yaml.")
    description: str = Field(min_length=1)
    owner: str = Field(description="An email or team:<slug>; becomes the Dagster owner.")
    steward: str | None = None
    purpose: str | None = None
    stage: Literal["pilot", "production"] = "pilot"
    schedule: str | None = Field(default=None, description="Cron in UTC; omit for manual runs.")
    schedule_timezone: str = Field(default="UTC", description="IANA name, e.g. Europe/Berlin.")
    retries: RetrySpec = Field(default_factory=RetrySpec)
    http: HttpSpec = Field(default_factory=HttpSpec)
    freshness_hours: float | None = Field(default=None, gt=0)
    enabled: bool = True
    max_concurrent_requests: int = Field(
        default=8,
        ge=1,
        le=32,
        description="REST only: parallel page requests when the paginator knows the total.",
    )
    rest_api: dict[str, Any] | None = None
    files: FilesSpec | None = None
    sql_database: SqlDatabaseSpec | None = None
    pii: PiiRules = Field(default_factory=PiiRules)
    contract: ContractSpec | Literal["evolve", "freeze"] = "evolve"
    checks: dict[str, list[CheckSpec]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not re.match(NAME_PATTERN, value):
            raise ValueError(
                f"name {value!r} must be 3-41 characters: a lower-case letter, then lower-case "
                "letters, digits or underscores (for example 'crm_contacts')"
            )
        if value.startswith("pg_"):
            raise ValueError(
                f"name {value!r} starts with pg_, which PostgreSQL reserves for its own schemas; "
                "choose another name"
            )
        return value

    @field_validator("owner", "steward")
    @classmethod
    def _owner_shape(cls, value: str | None) -> str | None:
        if value is not None and not _OWNER_RE.match(value):
            raise ValueError(
                f"{value!r} is not an owner; write an email (ana@example.com) or team:<slug> "
                "(team:marketing-ops)"
            )
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"schedule_timezone {value!r} is not a time zone name; "
                "use e.g. UTC or Europe/Berlin"
            ) from None
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(
                f"schedule {value!r} is not a 5-field cron expression "
                "(minute hour day month weekday), e.g. '0 6 * * *' for 06:00 UTC daily"
            )
        return value

    def problems(self, deep: bool = True) -> list[tuple[tuple[str | int, ...], str]]:
        """Rules that span several fields, as (path, message) pairs; empty when all hold.

        ``deep`` adds dlt's own validation of a `rest_api:` block.
        """
        found: list[tuple[tuple[str | int, ...], str]] = []
        kinds = [k for k in ("rest_api", "files", "sql_database") if getattr(self, k) is not None]
        if not kinds:
            return [((), "a source needs one of rest_api, files or sql_database; none is given")]
        if len(kinds) > 1:
            found.append(
                (
                    (kinds[1],),
                    f"a source has exactly one of rest_api, files or sql_database, but this file "
                    f"has {' and '.join(kinds)}; split it into one file per source",
                )
            )
            return found
        if self.rest_api is not None:
            from pipelines.rest_api_config import rest_api_config_problems

            found.extend(rest_api_config_problems(self.rest_api, deep=deep))
            if found:
                return found
        tables = self.table_names()
        for table in self.checks:
            if table not in tables:
                found.append((("checks", table), _unknown_table("checks", table, tables)))
        for rule in ("hash", "drop"):
            for index, entry in enumerate(getattr(self.pii, rule)):
                table = entry.split(".")[0]
                if table not in tables:
                    found.append(
                        (("pii", rule, index), _unknown_table(f"pii.{rule}", table, tables))
                    )
        return found

    @property
    def kind(self) -> Literal["rest_api", "files", "sql_database"]:
        """Which of the three connector kinds this source uses."""
        if self.files is not None:
            return "files"
        if self.sql_database is not None:
            return "sql_database"
        return "rest_api"

    def table_names(self) -> list[str]:
        """The warehouse tables this source produces, in file order."""
        if self.files is not None:
            return [self.files.table]
        if self.sql_database is not None:
            return [table.name for table in self.sql_database.tables]
        from pipelines.rest_api_config import rest_api_table_names

        return rest_api_table_names(self.rest_api or {})

    def schema_contract(self) -> dict[str, str]:
        """The dlt schema contract for this source."""
        if isinstance(self.contract, str):
            return {"tables": self.contract, "columns": self.contract, "data_type": self.contract}
        return self.contract.model_dump()

    def secret_names(self) -> list[str]:
        """Environment variables this source needs at run time."""
        return sorted(contains_secret_refs(self.model_dump(by_alias=True)))


def _unknown_table(where: str, table: str, tables: list[str]) -> str:
    return f"{where} names table {table!r}, but this source only loads: {', '.join(tables)}"
