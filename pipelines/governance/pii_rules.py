"""A source's PII rules, resolved to landed names so they match what dlt writes.

Rules are written as `table.column`, with the column as the API has it (`attributes.email`,
`Phone`) or as it lands (`attributes__email`), and the table as a resource's table or one of
dlt's nested tables (`orders__items.email`). Every rule becomes a path relative to the
resource's table (`items__email` under `orders`): the same address whether a list lands as a
nested table (dict rows) or as a JSON column (Arrow), and whatever the case or nesting.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pipelines.kinds.base import PathT
from pipelines.spec.fields import ValidationNaming
from pipelines.spec.models import PiiRules

NESTING_SEPARATOR = "__"
# When two rules cover a column, the more specific one wins; on a tie, the safer action.
_SAFETY = {"drop": 2, "hash": 1, "keep": 0}


def dlt_naming() -> Any:
    """dlt's default naming convention (snake_case), as a source gets it unless configured."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention()


@dataclass(frozen=True)
class PiiRule:
    """One hash, drop or keep rule: the resource table and the column path under it."""

    action: str  # hash | drop | keep
    table: str  # the resource's table, as it lands
    column: str  # the path under it, as it lands: `attributes__email`, `items__email`
    written: str  # as in the file: `orders.billing.email`
    path: PathT  # where in the file

    def covers(self, column: str) -> bool:
        """Whether this rule applies to the landed ``column`` (itself or nested under it)."""
        return column == self.column or column.startswith(self.column + NESTING_SEPARATOR)

    def reaches_into(self, column: str) -> bool:
        """Whether this rule names something nested inside ``column`` (a list or object)."""
        return self.column.startswith(column + NESTING_SEPARATOR)


class CompiledPiiRules:
    """The rules of one source, looked up by resource table and landed column path."""

    def __init__(self, pii: PiiRules, naming: Any | None = None) -> None:
        self.naming = naming or ValidationNaming()
        self.by_table: dict[str, list[PiiRule]] = {}
        for action, table, column, path in pii.rules():
            root, _, nested = self.landed_column(table).partition(NESTING_SEPARATOR)
            landed = self.landed_column(column)
            rule = PiiRule(
                action,
                root,
                f"{nested}{NESTING_SEPARATOR}{landed}" if nested else landed,
                f"{table}.{column}",
                path,
            )
            self.by_table.setdefault(rule.table, []).append(rule)

    def landed_table(self, table: str) -> str:
        """A resource's table name as dlt writes it."""
        return self.naming.normalize_identifier(table)

    def landed_column(self, column: str) -> str:
        """A column written with dots or `__`, as dlt lands it: `Bill.E-Mail` -> bill__e_mail.

        With the source's real naming at run time; `spec.fields.landed_column` at validation.
        """
        return self.naming.normalize_path(column.replace(".", NESTING_SEPARATOR))

    def all(self) -> list[PiiRule]:
        """Every rule, in file order per table."""
        return [rule for rules in self.by_table.values() for rule in rules]

    def rule_for(self, table: str, column: str) -> PiiRule | None:
        """The rule that decides ``column`` (landed path) of resource ``table``, or None."""
        covering = [r for r in self.by_table.get(table, ()) if r.covers(column)]
        if not covering:
            return None
        return max(covering, key=lambda r: (len(r.column), _SAFETY[r.action]))

    def rules_inside(self, table: str, column: str) -> list[PiiRule]:
        """The rules that name something nested inside ``column`` of ``table``."""
        return [r for r in self.by_table.get(table, ()) if r.reaches_into(column)]

    def action_for(self, table: str, column: str) -> str | None:
        """`hash`, `drop`, `keep` or None for ``column`` of ``table`` (names as written).

        ``table`` may be a nested table (`orders__items`).
        """
        root, _, nested = self.landed_column(table).partition(NESTING_SEPARATOR)
        landed = self.landed_column(column)
        rule = self.rule_for(root, f"{nested}{NESTING_SEPARATOR}{landed}" if nested else landed)
        return rule.action if rule else None


def closest_column(column: str, columns: list[str]) -> str | None:
    """The real column most like ``column``, if any is close: the same last part
    (`email` -> `attributes__email`), a similar spelling (`emial` -> `email`), or a last part
    that starts with it (`phone` -> `attributes__phone_number`)."""
    leaf = column.rsplit(NESTING_SEPARATOR, 1)[-1]
    leaves = {c: c.rsplit(NESTING_SEPARATOR, 1)[-1] for c in columns}
    by_leaf = [c for c in columns if leaves[c] == leaf]
    if by_leaf:
        return by_leaf[0]
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    if close:
        return close[0]
    by_start = [c for c in columns if len(leaf) >= 3 and leaves[c].startswith(leaf)]
    return by_start[0] if len(by_start) == 1 else None
