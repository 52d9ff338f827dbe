"""Governance rules over a whole spec: the production bar and PII handling.

Each rule returns (path, message) pairs so the registry can point at the line to change.
"""

from __future__ import annotations

import re

from pipelines.governance.pii import NESTING_SEPARATOR
from pipelines.kinds import kind_of
from pipelines.kinds.base import PathT
from pipelines.spec.models import SourceSpec

_PII_NAME = re.compile(
    r"(^|_)(e_?mail|email_?address|phone|phone_?number|mobile|telephone|ip|ip_?address|"
    r"address|street|street_?address|birth_?date|birthday|date_of_birth|dob)(_|$)"
)
# Checks that only make sense on the raw value; after hashing they see a 64-char hex digest.
_RAW_VALUE_CHECKS = {"match_regex", "not_match_regex", "value_lengths_between", "between", "in_set"}


def looks_like_pii(column: str) -> bool:
    """True for column names such as email, customer_email, phone, ip_address, birth_date."""
    return bool(_PII_NAME.search(column.lower()))


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
    problems = []
    for table, checks in spec.checks.items():
        hashed = set(spec.pii.columns_for(table, "hash"))
        dropped = set(spec.pii.columns_for(table, "drop"))
        for index, check in enumerate(checks):
            for column in check.columns_used():
                if column in dropped:
                    problems.append(
                        (
                            ("checks", table, index),
                            f"{check.expect} on {table}.{column}: that column is dropped by "
                            "pii.drop and never lands; remove the check or the drop rule",
                        )
                    )
                elif column in hashed and check.expect in _RAW_VALUE_CHECKS:
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
    """Declared columns that look like personal data but have no hash or drop rule."""
    ruled = {tuple(v.split(".")) for v in [*spec.pii.hash, *spec.pii.drop]}
    problems = []
    for (table, column), path in declared_columns(spec).items():
        covered = any(
            t == table and (c == column or c.endswith(f"{NESTING_SEPARATOR}{column}"))
            for t, c in ruled
        )
        if looks_like_pii(column) and not covered:
            problems.append(
                (
                    path,
                    f"{table}.{column} looks like personal data but has no PII rule; add it to "
                    f"pii.hash (to keep it as a join key) or pii.drop",
                )
            )
    return problems
