"""Governance rules over a whole spec: the production bar and PII handling.

Each rule returns (path, message) pairs so the registry can point at the line to change.
"""

from __future__ import annotations

from pipelines.governance.pii_detection import pii_kind_of_name
from pipelines.governance.pii_rules import NESTING_SEPARATOR, CompiledPiiRules
from pipelines.kinds import kind_of
from pipelines.kinds.base import PathT
from pipelines.spec.models import SourceSpec

# Checks that only make sense on the raw value; after hashing they see a 64-char hex digest.
_RAW_VALUE_CHECKS = {"match_regex", "not_match_regex", "value_lengths_between", "between", "in_set"}


def declared_columns(spec: SourceSpec) -> dict[tuple[str, str], PathT]:
    """Every (table, column) the file names, mapped to where it is first named."""
    found: dict[tuple[str, str], PathT] = {}

    def add(table: str, column: str, path: PathT) -> None:
        found.setdefault((table, column), path)

    for table, checks in spec.checks.items():
        for index, check in enumerate(checks):
            for column in check.columns_used():
                add(table, column, ("checks", table, index))
    for (table, column), path in kind_of(spec).declared_columns(spec).items():
        add(table, column, path)
    return found


def production_problems(spec: SourceSpec) -> list[tuple[PathT, str]]:
    """What a `stage: production` source lacks; one entry per missing item."""
    if spec.stage != "production":
        return []
    needs = {
        "steward": "a steward (who governs it in IT), e.g. steward: data-platform@example.com",
        "purpose": "a purpose (the business case), e.g. purpose: Segment newsletter audiences",
        "schedule": 'a schedule (cron, UTC), e.g. schedule: "0 6 * * *"',
        "freshness_hours": "freshness_hours (how old the data may get), e.g. freshness_hours: 26",
    }
    problems = [
        (("stage",), f"production sources need {text}")
        for field, text in needs.items()
        if not getattr(spec, field)
    ]
    for table in spec.table_names():
        if not any(c.severity == "error" for c in spec.checks.get(table, [])):
            problems.append(
                (
                    ("checks", table) if table in spec.checks else ("stage",),
                    f"production sources need at least one error-severity check on every table; "
                    f"add one under checks: {table}:",
                )
            )
    return problems


def pii_check_conflicts(spec: SourceSpec) -> list[tuple[PathT, str]]:
    """Checks on dropped columns, and raw-value checks on hashed columns."""
    rules = CompiledPiiRules(spec.pii)
    problems = []
    for table, checks in spec.checks.items():
        for index, check in enumerate(checks):
            for column in check.columns_used():
                action = rules.action_for(table, column)
                if action == "drop":
                    problems.append(
                        (
                            ("checks", table, index),
                            f"{check.expect} on {table}.{column}: that column is dropped by "
                            "pii.drop and never lands; remove the check or the drop rule",
                        )
                    )
                elif action == "hash" and check.expect in _RAW_VALUE_CHECKS:
                    problems.append(
                        (
                            ("checks", table, index),
                            f"{check.expect} on {table}.{column}: the column is hashed before it "
                            "lands (pii.hash), so this check would only see a 64-character hash. "
                            "Use not_null or unique here, or check the raw value at the source",
                        )
                    )
    return problems


def unprotected_pii(spec: SourceSpec) -> list[tuple[PathT, str]]:
    """Declared columns that look like personal data but have no hash, drop or keep rule."""
    rules = CompiledPiiRules(spec.pii)
    problems = []
    for (table, column), path in declared_columns(spec).items():
        landed = rules.landed_column(column)
        kind = pii_kind_of_name(landed)
        # fields asked for by name (`properties: email`) may land nested (`properties__email`)
        nested = [
            r
            for r in rules.by_table.get(rules.landed_table(table), ())
            if r.column.endswith(NESTING_SEPARATOR + landed)
        ]
        if kind and rules.action_for(table, column) is None and not nested:
            problems.append(
                (
                    path,
                    f"{table}.{column} looks like personal data ({kind}) but has no PII rule; "
                    "add it to pii.hash (to keep it as a join key) or pii.drop, or to pii.keep "
                    "with the reason it may land in clear",
                )
            )
    return problems
