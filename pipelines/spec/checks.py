"""The `checks:` entries of a source file: one model per check kind."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.spec.fields import landed_column

Severity = Literal["error", "warn"]


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


CheckSpec = Annotated[
    NotNullCheck
    | UniqueCheck
    | UniqueCombinationCheck
    | MatchRegexCheck
    | NotMatchRegexCheck
    | BetweenCheck
    | InSetCheck
    | ValueLengthsBetweenCheck
    | RowCountBetweenCheck,
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
