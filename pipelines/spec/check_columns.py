"""Checks that name a column the table does not have, found before Great Expectations runs.

GX reports such a check only as an errored metric ("not_null__emial FAIL (error)"). The same
finding is reported by `preview` and `run` (from the loaded table) and, where the kind knows its
columns before loading, by `validate`: the table, the column, the closest real column and all
of them. Imports neither GX nor dlt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipelines.spec.checks import CheckSpec

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec

_SHOWN_COLUMNS = 40


def missing_column_message(table: str, column: str, columns: Sequence[str]) -> str:
    """`table T has no column X; did you mean Y?; its columns are: a, b, ...`."""
    from pipelines.governance.pii_rules import closest_column  # imports the models: a cycle

    real = [c for c in columns if not c.startswith("_dlt")]
    parts = [f"table {table} has no column {column}"]
    closest = closest_column(column, real)
    if closest:
        parts.append(f"did you mean {closest}?")
    shown = ", ".join(real[:_SHOWN_COLUMNS]) + (" ..." if len(real) > _SHOWN_COLUMNS else "")
    parts.append(f"its columns are: {shown}")
    return "; ".join(parts)


def missing_columns(
    table: str, checks: Sequence[CheckSpec], columns: Sequence[str]
) -> dict[int, str]:
    """For each check (by index) that reads a column ``columns`` lacks: the message saying so.

    Only the first missing column of a check is named; fixing it shows the next.
    """
    present = set(columns)
    found: dict[int, str] = {}
    for index, check in enumerate(checks):
        missing = [c for c in check.columns_used() if c not in present]
        if missing:
            found[index] = missing_column_message(table, missing[0], columns)
    return found


def check_column_problems(spec: SourceSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks on columns the data does not have, for kinds that can tell before loading (a
    file drop reads its newest file's header); nothing for the others (`preview` and `run`
    report them from the loaded table)."""
    from pipelines.kinds import kind_of

    found = []
    known = kind_of(spec).columns_before_load(spec)
    for table, checks in spec.checks.items():
        columns = known.get(table)
        if not columns:
            continue
        for index, message in missing_columns(table, checks, columns.names).items():
            key = "column" if hasattr(checks[index], "column") else "columns"
            found.append(
                (("checks", table, index, key), f"{message} (read from {columns.seen_in})")
            )
    return found
