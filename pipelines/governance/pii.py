"""The one PII step: every item of every source kind passes it before dlt normalizes it.

`PiiGuard` is attached by `pipelines.runtime.build` as a step on every resource, after the
kind's own steps. It sees each value under the path dlt will land it at, relative to the
resource's table (nested objects as `parent__child`, lists as the nested table's path, names
normalized by the source's naming convention), and there it
- hashes or drops what a rule covers (a rule on a parent covers all of its children, inside
  lists too, whether the list lands as a nested table or as a JSON column);
- notes which rules matched, and samples the values no rule covers.

After extraction, `PiiGuard.report()` says which rules matched nothing and which uncovered
columns look personal (`pipelines.governance.pii_detection`). The load goes on only when the
report allows it (`PiiReport.blocking`), so a rule that misses fails closed. A rule that
matched in an earlier load is remembered in the source's dlt state: a field the API leaves
out today (an optional object) does not fail the load.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from dlt.extract.items_transform import ItemTransform

from pipelines.governance.pii_detection import SAMPLE_VALUES, classify_column
from pipelines.governance.pii_hashing import hash_arrow_column, hash_nested
from pipelines.governance.pii_rules import (
    NESTING_SEPARATOR,
    CompiledPiiRules,
    PiiRule,
    closest_column,
)
from pipelines.runtime.failures import ExplainedError

# Columns dlt or sourcegate add; they never hold personal data.
_SYSTEM_PREFIXES = ("_dlt_", "_source_file")
_NESTED_SCAN_ROWS = 200  # rows of a list or object column walked at a time for samples
STATE_KEY = "sourcegate_pii_matched"  # source state: table -> rule paths that matched once


@dataclass(frozen=True)
class UnmatchedRule:
    """A rule that named no column of a table that received rows."""

    rule: PiiRule
    columns: list[str]

    def message(self) -> str:
        """What is wrong and the fix, with the table's real columns."""
        table = self.rule.table
        parts = [f"pii.{self.rule.action} rule {self.rule.written} matches no column of {table}"]
        closest = closest_column(self.rule.column, self.columns)
        if closest:
            parts.append(f"did you mean {table}.{closest}?")
        shown = ", ".join(self.columns[:40]) + (" ..." if len(self.columns) > 40 else "")
        parts.append(f"its columns are: {shown}")
        return "; ".join(parts)


@dataclass(frozen=True)
class UnhandledPii:
    """A column that looks personal and that no rule hashes, drops or keeps."""

    table: str
    column: str
    why: str

    def message(self) -> str:
        """What was found and the lines to add."""
        return (
            f"{self.table}.{self.column} looks like personal data ({self.why}) but no pii rule "
            f"covers it; add {self.table}.{self.column} to pii.hash or pii.drop, or to pii.keep "
            "with the reason it may land in clear"
        )


@dataclass
class PiiReport:
    """What the PII step found in one extraction."""

    unmatched: list[UnmatchedRule] = field(default_factory=list)
    unhandled: list[UnhandledPii] = field(default_factory=list)

    def blocking(self, stage: str) -> list[str]:
        """Messages that stop the load: rules that miss, and in production unhandled PII."""
        found = [u.message() for u in self.unmatched]
        if stage == "production":
            found += [u.message() for u in self.unhandled]
        return found

    def warnings(self, stage: str) -> list[str]:
        """Messages a pilot load goes on with."""
        return [] if stage == "production" else [u.message() for u in self.unhandled]

    def unhandled_columns(self, table: str) -> list[str]:
        """The landed columns of ``table`` (or of its nested tables) with unruled PII."""
        return [u.column for u in self.unhandled if u.table == table.split(NESTING_SEPARATOR)[0]]


class PiiRefusedError(ExplainedError):
    """The PII step refused the extracted data; nothing of it was loaded."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages) + "; nothing was loaded")
        self.messages = messages


class PiiGuard:
    """Applies a source's PII rules to every item and records what it saw."""

    def __init__(self, pii: Any, salt: bytes, naming: Any) -> None:
        self.rules = CompiledPiiRules(pii, naming)
        self.salt = salt
        self.matched: set[PiiRule] = set()
        self.columns: dict[str, dict[str, list[Any]]] = {}  # table -> column path -> sample
        self.history: dict[str, list[str]] | None = None  # rule paths matched in earlier loads
        self._names: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def attach(self, source: Any) -> None:
        """Add the PII step as the last step of every resource, and fix its column hints."""
        for resource in source.resources.values():
            name = resource.table_name if isinstance(resource.table_name, str) else None
            table = self.rules.landed_table(name or resource.name)
            self._conform_hints(resource, table)
            resource.add_step(_PiiStep(self, table))

    def report(self) -> PiiReport:
        """Rules that matched nothing in a table that got rows, and uncovered personal columns."""
        report = PiiReport()
        history = self.history or {}
        for rule in self.rules.all():
            seen = self.columns.get(rule.table)
            missed = seen is not None and rule not in self.matched
            if missed and rule.column not in history.get(rule.table, ()):
                report.unmatched.append(UnmatchedRule(rule, sorted(seen)))
        for table, columns in self.columns.items():
            for column, sample in columns.items():
                if column.startswith(_SYSTEM_PREFIXES) or self.rules.rule_for(table, column):
                    continue
                why = classify_column(column, sample, table)
                if why:
                    report.unhandled.append(UnhandledPii(table, column, why))
        return report

    # -- applying rules -------------------------------------------------------------------

    def apply_rows(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Hash or drop what rules cover in one dict row, in place (nested values too)."""
        self._table(table)
        self._edit_object(table, "", row)
        return row

    def apply_arrow(self, table: str, data: Any) -> Any:
        """Hash or drop what rules cover in an Arrow table or record batch."""
        import pyarrow as pa
        import pyarrow.types as pat

        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        seen = self._table(table)
        dropped = []
        for index, name in enumerate(data.column_names):
            column = self._landed("", name)
            values = data.column(index)
            rule = self.rules.rule_for(table, column)
            if rule is not None:
                self._matched(table, rule, column)
                if rule.action == "drop":
                    dropped.append(name)
                elif rule.action == "hash":
                    data = data.set_column(
                        index, name, hash_arrow_column(column, values, self.salt)
                    )
            elif pat.is_nested(values.type) and self.rules.rules_inside(table, column):
                edited = [self._edit(table, column, v)[1] for v in values.to_pylist()]
                data = data.set_column(index, name, pa.array(edited))
            elif pat.is_nested(values.type):
                self._sample_nested(table, column, values)
            else:
                self._sample_arrow(seen, column, values)
        return data.drop_columns(dropped) if dropped else data

    def _edit(self, table: str, column: str, value: Any) -> tuple[bool, Any]:
        """Apply the rule covering ``column`` to ``value``, or descend into it.

        Returns whether the value stays, and the value to keep.
        """
        rule = self.rules.rule_for(table, column)
        if rule is not None:
            self._matched(table, rule, column)
            if rule.action == "drop":
                return False, None
            if rule.action == "hash":
                return True, hash_nested(column, value, self.salt)
            return True, value
        if isinstance(value, dict):
            self._edit_object(table, column, value)
        elif isinstance(value, list):
            # list elements land under the list's path (dlt's nested table, or a JSON column)
            value = [v for keep, v in (self._edit(table, column, e) for e in value) if keep]
        else:
            self._sample(self.columns[table], column, value)
        return True, value

    def _edit_object(self, table: str, prefix: str, row: dict[str, Any]) -> None:
        for key in list(row):
            keep, value = self._edit(table, self._landed(prefix, key), row[key])
            if keep:
                row[key] = value
            else:
                del row[key]

    def _conform_hints(self, resource: Any, table: str) -> None:
        """Column hints a kind declared (SQL reflection): hashed become text, dropped go."""
        columns = resource.columns
        if not isinstance(columns, dict):
            return
        for name in list(columns):
            rule = self.rules.rule_for(table, self.rules.landed_column(name))
            if rule is not None and rule.action == "drop":
                del columns[name]
            elif rule is not None and rule.action == "hash":
                columns[name] = {
                    k: v for k, v in columns[name].items() if k in ("name", "nullable")
                } | {"data_type": "text"}

    def _landed(self, prefix: str, key: str) -> str:
        name = self._names.get((prefix, key))
        if name is None:
            naming = self.rules.naming
            # dict keys are normalized one by one (as dlt's normalizer does), Arrow names (already
            # flattened to `a__b`) as a path
            leaf = naming.normalize_path(key) if prefix == "" else naming.normalize_identifier(key)
            name = f"{prefix}{NESTING_SEPARATOR}{leaf}" if prefix else leaf
            self._names[(prefix, key)] = name
        return name

    def _table(self, table: str) -> dict[str, list[Any]]:
        seen = self.columns.get(table)
        if seen is None:
            with self._lock:
                seen = self.columns.setdefault(table, {})
                if self.history is None:
                    self.history = _remembered_matches()
        return seen

    def _matched(self, table: str, rule: PiiRule, column: str) -> None:
        self.columns[table].setdefault(column, [])
        if rule in self.matched:
            return
        self.matched.add(rule)
        if self.history is None:
            return
        remembered = self.history.setdefault(table, [])
        if rule.column not in remembered:
            remembered.append(rule.column)  # the source state: saved with this load's package

    def _sample(self, seen: dict[str, list[Any]], column: str, value: Any) -> None:
        sample = seen.setdefault(column, [])
        if value is not None and len(sample) < SAMPLE_VALUES:
            sample.append(value)

    def _sample_arrow(self, seen: dict[str, list[Any]], column: str, values: Any) -> None:
        import pyarrow.compute as pc
        import pyarrow.types as pat

        sample = seen.setdefault(column, [])
        wanted = SAMPLE_VALUES - len(sample)
        if wanted <= 0:
            return
        kind = values.type
        if pat.is_string(kind) or pat.is_large_string(kind) or pat.is_integer(kind):
            # the first non-null values wherever they are: a column may be empty for a while
            sample.extend(pc.drop_null(values).slice(0, wanted).to_pylist())
        elif pat.is_boolean(kind):
            sample.extend(pc.drop_null(values).slice(0, wanted).to_pylist())

    def _sample_nested(self, table: str, column: str, values: Any) -> None:
        """Record every leaf path the Arrow type has, then sample leaves from non-empty rows."""
        import pyarrow.compute as pc

        seen = self.columns[table]
        leaves = _leaf_paths(values.type, column, self.rules.naming)
        for leaf in leaves:
            seen.setdefault(leaf, [])
        present = pc.drop_null(values)
        for start in range(0, len(present), _NESTED_SCAN_ROWS):
            if all(len(seen[leaf]) >= SAMPLE_VALUES for leaf in leaves):
                return
            for value in present.slice(start, _NESTED_SCAN_ROWS).to_pylist():
                self._edit(table, column, value)  # no rule inside: this only samples


def _leaf_paths(arrow_type: Any, path: str, naming: Any) -> list[str]:
    """The landed paths of an Arrow type's leaves: struct fields nest, list items share a path."""
    import pyarrow.types as pat

    if pat.is_struct(arrow_type):
        fields = [arrow_type.field(index) for index in range(arrow_type.num_fields)]
        return [
            leaf
            for field in fields
            for leaf in _leaf_paths(
                field.type,
                f"{path}{NESTING_SEPARATOR}{naming.normalize_identifier(field.name)}",
                naming,
            )
        ]
    if pat.is_list(arrow_type) or pat.is_large_list(arrow_type):
        return _leaf_paths(arrow_type.value_type, path, naming)
    return [path]


def _remembered_matches() -> dict[str, list[str]]:
    """The rule paths that matched in earlier loads, from the source's dlt state.

    Outside an extraction (no state to read) nothing is remembered.
    """
    import dlt

    try:
        return dlt.current.source_state().setdefault(STATE_KEY, {})
    except Exception:  # no pipeline or source context: a unit test or a bare resource
        return {}


class _PiiStep(ItemTransform[Any, dict[str, Any]]):
    """The dlt pipe step: dict rows (alone or in lists) and Arrow items through one guard."""

    def __init__(self, guard: PiiGuard, table: str) -> None:
        super().__init__(lambda item: item)
        self.guard = guard
        self.table = table

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Apply the rules to one item; items of other types pass unchanged."""
        if isinstance(item, dict):
            return self.guard.apply_rows(self.table, item)
        if isinstance(item, list):
            rows = self.guard.apply_rows
            return [rows(self.table, r) if isinstance(r, dict) else r for r in item]
        if hasattr(item, "column_names"):
            return self.guard.apply_arrow(self.table, item)
        return item
