"""Map each `checks:` entry to the Great Expectations 1.x expectation that implements it."""

from __future__ import annotations

from typing import Any

from pipelines.spec.checks import (
    BetweenCheck,
    CheckSpec,
    InSetCheck,
    MatchRegexCheck,
    NotMatchRegexCheck,
    NotNullCheck,
    ReferencesCheck,
    RowCountBetweenCheck,
    UniqueCheck,
    UniqueCombinationCheck,
    ValueLengthsBetweenCheck,
)


def to_expectation(check: CheckSpec, detailed: bool = False, source: str | None = None) -> Any:
    """Build the GX expectation for one check (imports GX, so call it only inside a run).

    ``detailed`` asks for the row-level variant where the fast one is aggregate-only (unique),
    so a failing check can report which values are duplicated. ``source`` is the checked
    table's schema, where a `references` check's `to: table.column` points.
    """
    import great_expectations.expectations as gxe

    mostly = {"mostly": check.mostly} if check.mostly is not None else {}
    match check:
        case NotNullCheck():
            return gxe.ExpectColumnValuesToNotBeNull(column=check.column, **mostly)
        case UniqueCheck() if detailed:
            return gxe.ExpectColumnValuesToBeUnique(column=check.column, **mostly)
        case UniqueCheck():
            # A count(distinct) that GX bundles with the other aggregates in one scan; the
            # row-level ExpectColumnValuesToBeUnique costs two window-function scans.
            return gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
                column=check.column, min_value=check.mostly or 1.0, max_value=1.0
            )
        case UniqueCombinationCheck():
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=check.columns, **mostly)
        case MatchRegexCheck():
            return gxe.ExpectColumnValuesToMatchRegex(
                column=check.column, regex=check.regex, **mostly
            )
        case NotMatchRegexCheck():
            return gxe.ExpectColumnValuesToNotMatchRegex(
                column=check.column, regex=check.regex, **mostly
            )
        case BetweenCheck():
            return gxe.ExpectColumnValuesToBeBetween(
                column=check.column, min_value=check.min, max_value=check.max, **mostly
            )
        case InSetCheck():
            return gxe.ExpectColumnValuesToBeInSet(
                column=check.column, value_set=list(check.values), **mostly
            )
        case ValueLengthsBetweenCheck():
            return gxe.ExpectColumnValueLengthsToBeBetween(
                column=check.column,
                min_value=_as_int(check.min),
                max_value=_as_int(check.max),
                **mostly,
            )
        case RowCountBetweenCheck():
            return gxe.ExpectTableRowCountToBeBetween(
                min_value=_as_int(check.min), max_value=_as_int(check.max)
            )
        case ReferencesCheck():
            from quality.references import references_expectation

            return references_expectation(check, source)
    raise TypeError(f"no expectation for check kind {check.expect!r}")


def _as_int(value: float | None) -> int | None:
    return None if value is None else int(value)
