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
    from pipelines.spec.errors import SourceError
    from pipelines.spec.models import SourceSpec
    from pipelines.spec.registry import LoadedSource

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
    """Checks on columns the data does not have, for kinds that can tell before loading (the
    files of a local drop, a reachable SQL table); nothing for the others (`preview` and `run`
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


def column_warnings(source: LoadedSource) -> list[SourceError]:
    """`validate`'s warnings for checks on columns the data does not have yet.

    Warnings, not errors: the data can change before the next run (an optional column missing
    from today's export), and `run` names such a check on the loaded table anyway.
    """
    from pipelines.spec.errors import SourceError
    from pipelines.spec.yaml_lines import parse_yaml

    problems = check_column_problems(source.spec)
    if not problems:
        return []
    doc = parse_yaml(source.path.read_text(encoding="utf-8"))
    return [
        SourceError(source.path, doc.line_of(where), message, "warning")
        for where, message in problems
    ]


def unknown_reference_sources(sources: list[LoadedSource], known: set[str]) -> list[SourceError]:
    """`validate`'s warnings for `references` checks whose `to:` names a source that no file
    here defines (`to: crm.contacts.id` with no `crm.yaml`): the check would fail at run time."""
    from pipelines.spec.checks import ReferencesCheck
    from pipelines.spec.errors import SourceError
    from pipelines.spec.yaml_lines import parse_yaml

    found = []
    for source in sources:
        where = []
        for table, checks in source.spec.checks.items():
            for index, check in enumerate(checks):
                if isinstance(check, ReferencesCheck):
                    schema = check.target(source.name)[0]
                    if schema != source.name and schema not in known:
                        where.append((("checks", table, index, "to"), schema, check.to))
        if where:
            doc = parse_yaml(source.path.read_text(encoding="utf-8"))
            for path, schema, to in where:
                message = (
                    f"to: {to!r} names source {schema!r}, but no file here defines it; use "
                    "table.column for this source's tables, or source.table.column with an "
                    "existing source"
                )
                found.append(SourceError(source.path, doc.line_of(path), message, "warning"))
    return found
