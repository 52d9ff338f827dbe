"""The `checks:` entries of a source file: one model per check kind."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.spec.fields import check_identifier, landed_column

Severity = Literal["error", "warn"]
# Python's `re` has these, DuckDB's RE2 refuses them at check time
_UNPORTABLE_REGEX = re.compile(r"\(\?<?[=!]|\\[1-9]")
# `to:` of a references check: table.column or source.table.column
_TARGET_PATTERN = r"^[^.\s]+\.[^.\s]+(\.[^.\s]+)?$"


class _CheckBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: Severity = "error"
    mostly: float | None = Field(
        default=None, gt=0, le=1, description="Share of rows that must pass (GX `mostly`)."
    )
    description: str | None = None

    @property
    def check_name(self) -> str:
        """A Dagster-safe name that says what is checked, e.g. ``not_null__email``."""
        subject = getattr(self, "column", None) or "__".join(getattr(self, "columns", []) or [])
        return f"{self.expect}__{subject}" if subject else str(self.expect)

    def columns_used(self) -> list[str]:
        """Columns this check reads."""
        if hasattr(self, "column"):
            return [self.column]
        return list(getattr(self, "columns", []))


class _ColumnCheck(_CheckBase):
    column: str = Field(min_length=1)

    # `attributes.email` or `E-Mail`, as the API or file has it: checks read landed columns
    _landed = field_validator("column")(lambda value: landed_column(value))


class NotNullCheck(_ColumnCheck):
    """Passes when the column has no empty (null) values."""

    expect: Literal["not_null"]


class UniqueCheck(_ColumnCheck):
    """Passes when no value of the column appears twice."""

    expect: Literal["unique"]


class UniqueCombinationCheck(_CheckBase):
    """Passes when no combination of the columns appears twice."""

    expect: Literal["unique_combination"]
    columns: list[str] = Field(min_length=2)

    _landed = field_validator("columns")(lambda values: [landed_column(v) for v in values])


class _RegexCheck(_ColumnCheck):
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r} does not compile: {exc}") from None
        if _UNPORTABLE_REGEX.search(value):
            raise ValueError(
                f"regex {value!r} uses a lookaround `(?=`, `(?!`, `(?<=`, `(?<!` or a "
                "backreference `\\1`, which the warehouse's regex engine (RE2 in DuckDB) "
                "does not have; rewrite it without them"
            )
        return value


class MatchRegexCheck(_RegexCheck):
    """Passes when every value matches the regular expression."""

    expect: Literal["match_regex"]


class NotMatchRegexCheck(_RegexCheck):
    """Passes when no value matches the regular expression."""

    expect: Literal["not_match_regex"]


class _RangeMixin(BaseModel):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> Any:
        if self.min is None and self.max is None:
            raise ValueError("give at least one of 'min' or 'max'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' ({self.min:g}) is larger than 'max' ({self.max:g})")
        return self


class BetweenCheck(_RangeMixin, _ColumnCheck):
    """Passes when every value lies between min and max."""

    expect: Literal["between"]


class ValueLengthsBetweenCheck(_RangeMixin, _ColumnCheck):
    """Passes when every text length lies between min and max."""

    expect: Literal["value_lengths_between"]


class RowCountBetweenCheck(_RangeMixin, _CheckBase):
    """Passes when the table's row count lies between min and max."""

    expect: Literal["row_count_between"]


class InSetCheck(_ColumnCheck):
    """Passes when every value is one of `values`."""

    expect: Literal["in_set"]
    values: list[str | int | float | bool] = Field(min_length=1)


class ReferencesCheck(_ColumnCheck):
    """Passes when every non-null value exists in another table's column (dbt's
    `relationships`): `to: table.column` in this source, or `to: source.table.column`."""

    expect: Literal["references"]
    to: str = Field(
        description="table.column of this source (profiles.id), or source.table.column of "
        "another source (crm_contacts.contacts.contact_id).",
        # for editors only: the validator below gives the clearer message
        json_schema_extra={"pattern": _TARGET_PATTERN},
    )

    @field_validator("to")
    @classmethod
    def _two_or_three_parts(cls, value: str) -> str:
        if not re.match(_TARGET_PATTERN, value):
            raise ValueError(
                f"{value!r} must be table.column for a table of this source (profiles.id) "
                "or source.table.column for another source's table (crm_contacts.contacts.id)"
            )
        *names, _ = value.split(".")
        kinds = ("table",) if len(names) == 1 else ("source", "table")
        for name, what in zip(names, kinds, strict=True):
            check_identifier(name, f"{what} name")
        return value

    def target(self, source: str) -> tuple[str, str, str]:
        """(schema, table, column) holding the keys; ``source`` is the checked table's source."""
        *names, column = self.to.split(".")
        schema, table = names if len(names) == 2 else (source, names[0])
        return schema, table, column


CheckSpec = Annotated[
    NotNullCheck
    | UniqueCheck
    | UniqueCombinationCheck
    | MatchRegexCheck
    | NotMatchRegexCheck
    | BetweenCheck
    | InSetCheck
    | ValueLengthsBetweenCheck
    | RowCountBetweenCheck
    | ReferencesCheck,
    Field(discriminator="expect"),
]

CHECK_KINDS: tuple[str, ...] = (
    "not_null",
    "unique",
    "unique_combination",
    "match_regex",
    "not_match_regex",
    "between",
    "in_set",
    "value_lengths_between",
    "row_count_between",
    "references",
)


def named_checks(checks: list[CheckSpec]) -> list[tuple[str, CheckSpec]]:
    """Give every check on a table a unique name (a repeated name gets `_2`, `_3`, ...)."""
    seen: dict[str, int] = {}
    named = []
    for check in checks:
        base = check.check_name
        seen[base] = seen.get(base, 0) + 1
        named.append((base if seen[base] == 1 else f"{base}_{seen[base]}", check))
    return named


def reference_problems(
    source: str, checks: dict[str, list[CheckSpec]], tables: list[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """`references` checks whose `to:` names a table this source does not load."""
    from pipelines.governance.pii_rules import closest_column  # imports the models: a cycle

    found = []
    for table, table_checks in checks.items():
        for index, check in enumerate(table_checks):
            if not isinstance(check, ReferencesCheck):
                continue
            schema, target, _ = check.target(source)
            if schema != source or target in tables:
                continue
            close = closest_column(target, tables)
            hint = f"did you mean {close!r}? " if close else ""
            found.append(
                (
                    ("checks", table, index, "to"),
                    f"to: {check.to!r} names table {target!r}, but this source only loads: "
                    f"{', '.join(tables)}; {hint}For another source's table write "
                    "source.table.column",
                )
            )
    return found
