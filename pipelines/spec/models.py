"""The source file contract: pydantic models for one `sources/<name>.yaml`."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from pipelines.governance.secrets import contains_secret_refs
from pipelines.kinds import KINDS, kind_of
from pipelines.kinds.files.config import FilesSpec
from pipelines.kinds.sql_database.config import SqlDatabaseSpec
from pipelines.spec.checks import CheckSpec, reference_problems
from pipelines.spec.fields import StrictModel

NAME_PATTERN = r"^[a-z][a-z0-9_]{2,40}$"
OWNER_PATTERN = r"^(team:[a-z0-9][a-z0-9_-]*|[^@\s]+@[^@\s]+\.[^@\s]+)$"
_OWNER_RE = re.compile(OWNER_PATTERN)

ContractMode = Literal["evolve", "freeze", "discard_row", "discard_value"]
PathT = tuple[str | int, ...]


class PiiRules(StrictModel):
    """Columns to hash, drop or keep in clear, as `table.column`, before anything lands.

    The column is the landed name (`attributes__email`) or the API's dotted path
    (`attributes.email`). A rule on a parent (`customers.address`) covers every nested column
    (`address__line1`). `keep` accepts a column that looks personal, with the reason why.
    """

    hash: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    keep: dict[str, str] = Field(default_factory=dict)

    @field_validator("hash", "drop")
    @classmethod
    def _qualified(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_rule_target(value)
        return values

    @field_validator("keep")
    @classmethod
    def _kept_with_reason(cls, values: dict[str, str]) -> dict[str, str]:
        for target, reason in values.items():
            _check_rule_target(target)
            if not str(reason or "").strip():
                raise ValueError(f"pii.keep {target!r} needs a reason, e.g. {target}: consented")
        return values

    def rules(self) -> list[tuple[str, str, str, tuple[str | int, ...]]]:
        """Every rule as (action, table, column as written, key path in the file)."""
        found = []
        for action in ("hash", "drop"):
            for index, target in enumerate(getattr(self, action)):
                table, column = target.split(".", 1)
                found.append((action, table, column, ("pii", action, index)))
        for target in self.keep:
            table, column = target.split(".", 1)
            found.append(("keep", table, column, ("pii", "keep", target)))
        return found

    def columns_for(self, table: str, rule: Literal["hash", "drop", "keep"]) -> list[str]:
        """The columns (as written) under ``rule`` for one table."""
        return [c for action, t, c, _ in self.rules() if action == rule and t == table]


def _check_rule_target(value: str) -> None:
    table, _, column = str(value).partition(".")
    parts = column.replace("__", ".").split(".")
    if not table or not column or not all(parts):
        raise ValueError(
            f"{value!r} must be written as table.column, e.g. contacts.email or "
            "orders.billing.email (a nested field)"
        )


class RetrySpec(StrictModel):
    """How Dagster retries a failed load of this source (step retries, then run retries)."""

    max_retries: int = Field(default=2, ge=0, le=10)
    delay_seconds: float = Field(default=30, ge=0, le=3600)


class HttpSpec(StrictModel):
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


class ContractSpec(StrictModel):
    """dlt's schema contract mapping, passed to dlt as written: what happens to new tables, new
    columns and values of another type. An entity left out evolves (dlt's default).

    Every table of a source's first load is new: `tables: freeze` fails that load and a discard
    mode drops it. Use them only on a source that has loaded.
    """

    tables: ContractMode = "evolve"
    columns: ContractMode = "evolve"
    data_type: ContractMode = "evolve"


class SourceSpec(StrictModel):
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
    contract: ContractSpec | ContractMode = Field(
        default="evolve",
        description=(
            "A shorthand sets columns and data types and lets tables evolve: freeze = "
            "{tables: evolve, columns: freeze, data_type: freeze}; discard_row and "
            "discard_value likewise. A mapping is dlt's schema contract, passed through."
        ),
    )
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

    def problems(self, deep: bool = True) -> list[tuple[PathT, str]]:
        """Rules that span several fields, as (path, message) pairs; empty when all hold.

        ``deep`` also runs the checks of its kind that need a library (dlt for `rest_api:`).
        """
        blocks = self.kind_blocks()
        *first, last = KINDS
        names = f"{', '.join(first)} or {last}"
        if not blocks:
            return [((), f"a source needs one of {names}; none is given")]
        if len(blocks) > 1:
            return [
                (
                    (blocks[1],),
                    f"a source has exactly one of {names}, but this file has "
                    f"{' and '.join(blocks)}; split it into one file per source",
                )
            ]
        found = kind_of(self).problems(self, deep)
        if found:
            return found
        tables = self.table_names()
        for table in tables:
            if "__" in table:
                found.append(
                    (
                        (self.kind,),
                        f"table name {table!r} contains '__', which dlt reserves for nested "
                        f"tables (`parent__child`); use a single underscore, e.g. "
                        f"{table.replace('__', '_')!r}",
                    )
                )
        for table in self.checks:
            if table not in tables:
                found.append((("checks", table), _unknown_table("checks", table, tables)))
        found.extend(reference_problems(self.name, self.checks, tables))
        for action, table, _, path in self.pii.rules():
            # a nested table (`orders__items`) belongs to its parent's resource
            if not any(table == t or table.startswith(f"{t}__") for t in tables):
                found.append((path, _unknown_table(f"pii.{action}", table, tables)))
        return found

    def kind_blocks(self) -> list[str]:
        """The kind blocks (`files:`, `rest_api:` ...) this file has, in registry order."""
        return [key for key in KINDS if getattr(self, key) is not None]

    @property
    def kind(self) -> str:
        """Which connector kind this source uses: the key of its kind block."""
        return self.kind_blocks()[0]

    def table_names(self) -> list[str]:
        """The warehouse tables this source produces, in file order."""
        return kind_of(self).table_names(self)

    def schema_contract(self) -> dict[str, str]:
        """The dlt schema contract for this source, with all three entities.

        A shorthand (`freeze`, `discard_row`, `discard_value`, `evolve`) applies to columns and
        data types only; tables evolve. dlt's own shorthand would also apply it to tables, and
        every table of a source's first load is new: `freeze` would fail that load and the
        discard modes would drop all of it. The mapping form is dlt's, passed through (an
        entity left out evolves, as in dlt).
        """
        if isinstance(self.contract, str):
            return {"tables": "evolve", "columns": self.contract, "data_type": self.contract}
        return self.contract.model_dump()

    def secret_names(self) -> list[str]:
        """Environment variables this source needs at run time."""
        return sorted(contains_secret_refs(self.model_dump(by_alias=True)))


def _unknown_table(where: str, table: str, tables: list[str]) -> str:
    return f"{where} names table {table!r}, but this source only loads: {', '.join(tables)}"
