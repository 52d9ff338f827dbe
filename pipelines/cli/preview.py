"""`sourcegate preview`: a test read into a throwaway DuckDB file, never the warehouse."""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from pipelines.cli.messages import display
from pipelines.governance.salt import load_salt
from pipelines.runtime.warehouse import Warehouse, configured_warehouse, quote_identifier
from pipelines.settings import sources_dir
from pipelines.spec.checks import named_checks
from pipelines.spec.registry import LoadedSource

SAMPLE_ROWS = 5
MASK = "***"
SMALL_SET = 10
ITEMS_PER_PAGE_GUESS = 100


def register(commands: Any) -> None:
    """Add the `preview` command to the CLI's subcommands."""
    parser = commands.add_parser("preview", help="test-read a source into a throwaway DuckDB")
    parser.add_argument("name", help="source name")
    parser.add_argument("--limit", type=int, default=50, help="rows per table (default 50)")
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Preview one valid source; say why when the name has no valid file."""
    from pipelines.governance.secrets import MissingSecretError
    from pipelines.spec.registry import load_registry

    registry = load_registry(args.sources or sources_dir())
    source = registry.get(args.name)
    if source is None:
        for error in registry.errors:
            if error.source_name == args.name:
                print(display(error), file=sys.stderr)
        print(f"error: no valid source named {args.name!r}", file=sys.stderr)
        return 2
    try:
        return preview_source(source, max(1, args.limit), sys.stdout)
    except MissingSecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def preview_source(source: LoadedSource, limit: int, out: TextIO) -> int:
    """Read up to ``limit`` rows per table, then print schema, samples, checks and suggestions.

    Returns 1 when a real load would be refused for PII (a rule that matches nothing, or in
    production a personal column with no rule), else 0.
    """
    from pipelines.runtime.build import build_pipeline, build_source, pii_guard

    spec = source.spec
    real = configured_warehouse()
    with tempfile.TemporaryDirectory(prefix="sourcegate-preview-") as tmp:
        scratch = Warehouse(Path(tmp) / "preview.duckdb")
        # Hash like the real warehouse does, without creating anything beside it.
        salt = load_salt(real.state_dir, create=False)
        dlt_source = build_source(spec, scratch, salt=salt)
        dlt_source.add_limit(max(1, math.ceil(limit / ITEMS_PER_PAGE_GUESS)))
        for resource in dlt_source.resources.values():
            budget = _RowBudget(limit)
            resource.add_map(budget.slice_arrow).add_filter(budget.keep_row)
        pipeline = build_pipeline(spec, scratch, prefix="preview")
        print(f"previewing {spec.name} (up to {limit} rows per table) ...", file=out, flush=True)
        pipeline.extract(dlt_source, schema_contract=spec.schema_contract())
        report = pii_guard(dlt_source).report()
        pipeline.normalize()
        pipeline.load()
        with scratch.connect(read_only=True) as con:
            tables = {t: _describe(con, spec.name, t, limit) for t in spec.table_names()}
        outcomes = _run_checks(scratch, source, tables)
    blocking = print_pii_report(report, spec.stage, out)
    for table, info in tables.items():
        masked = report.unhandled_columns(table)
        rules = "PII rules applied" if not report.unmatched else "a PII rule matched nothing"
        _print_table(table, info, outcomes.get(table, []), out, rules, masked)
    print("\nnothing was written to the warehouse.", file=out)
    return 1 if blocking else 0


class _RowBudget:
    """Lets at most ``limit`` rows through per table: slices Arrow tables, filters dict rows."""

    def __init__(self, limit: int) -> None:
        self.remaining = limit

    def slice_arrow(self, item: Any) -> Any:
        if not hasattr(item, "num_rows"):
            return item
        kept = item.slice(0, max(self.remaining, 0))
        self.remaining -= kept.num_rows
        return kept

    def keep_row(self, item: Any) -> bool:
        if hasattr(item, "num_rows"):
            return True
        self.remaining -= 1
        return self.remaining >= 0


def _describe(con: Any, schema: str, table: str, limit: int) -> dict[str, Any]:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0]
    if not exists:
        return {"columns": [], "rows": [], "count": 0, "stats": {}}
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    columns = [
        (name, dtype)
        for name, dtype, *_ in con.execute(f"describe {relation}").fetchall()
        if not name.startswith("_dlt")
    ]
    quoted = ", ".join(quote_identifier(c) for c, _ in columns)
    rows = con.execute(f"select {quoted} from {relation} limit {limit}").fetchall()
    stats = {}
    for column, dtype in columns:
        name = quote_identifier(column)
        nulls, distinct = con.execute(
            f"select count(*) filter (where {name} is null), count(distinct {name}) from {relation}"
        ).fetchone()
        values = []
        if 2 <= distinct <= SMALL_SET and dtype.upper() == "VARCHAR":
            query = f"select distinct {name} from {relation} order by 1"
            values = [v for (v,) in con.execute(query).fetchall()]
        stats[column] = {"nulls": nulls, "distinct": distinct, "values": values}
    return {"columns": columns, "rows": rows, "count": len(rows), "stats": stats}


def _run_checks(
    scratch: Warehouse, source: LoadedSource, tables: dict[str, Any]
) -> dict[str, list]:
    from quality.runner import WarehouseChecker

    spec = source.spec
    wanted = {t: c for t, c in spec.checks.items() if tables.get(t, {}).get("count")}
    if not wanted:
        return {}
    checker = WarehouseChecker(scratch.sqlalchemy_url())
    try:
        return {
            table: list(
                zip(
                    [n for n, _ in named_checks(checks)],
                    checker.run(spec.name, table, checks),
                    strict=True,
                )
            )
            for table, checks in wanted.items()
        }
    finally:
        checker.close()


def _print_table(
    table: str,
    info: dict[str, Any],
    outcomes: list,
    out: TextIO,
    rules_note: str,
    masked: list[str],
) -> None:
    print(f"\n== {table}: {info['count']} rows read", file=out)
    if not info["columns"]:
        print("   (no rows arrived)", file=out)
        return
    print("schema:", file=out)
    for name, dtype in info["columns"]:
        print(f"  {name:<32} {dtype}", file=out)
    notes = [f"{min(SAMPLE_ROWS, info['count'])} rows"]
    notes.append(rules_note)
    if masked:
        notes.append(f"masked, as personal data with no rule: {', '.join(masked)}")
    print(f"sample ({'; '.join(notes)}):", file=out)
    names = [c for c, _ in info["columns"]]
    for row in info["rows"][:SAMPLE_ROWS]:
        cells = zip(names, row, strict=True)
        shown = [f"{n}={MASK if n in masked and v is not None else _short(v)}" for n, v in cells]
        print("  " + ", ".join(shown), file=out)
    if outcomes:
        print("checks on this sample:", file=out)
        for name, outcome in outcomes:
            verdict = "pass" if outcome.passed else f"FAIL ({outcome.severity})"
            extra = f", {outcome.unexpected_count} unexpected" if outcome.unexpected_count else ""
            print(f"  {name:<40} {verdict}{extra}", file=out)
    suggestions = suggest_checks(info, masked)
    if suggestions:
        print("suggested checks (paste under checks:):", file=out)
        print(f"  {table}:", file=out)
        for line in suggestions:
            print(f"    {line}", file=out)


def suggest_checks(info: dict[str, Any], masked: list[str] = ()) -> list[str]:
    """YAML lines for checks the sample supports: not-null, unique keys, small value sets.

    Nothing is suggested for ``masked`` columns (personal data with no rule yet).
    """
    count, lines = info["count"], []
    if count < 2:
        return lines
    for column, stats in info["stats"].items():
        if column.startswith("_") or column in masked:
            continue
        if stats["nulls"] == 0:
            lines.append(f"- {{expect: not_null, column: {column}}}")
        if stats["distinct"] == count and (column == "id" or column.endswith("_id")):
            lines.append(f"- {{expect: unique, column: {column}}}")
        if stats["values"] and count >= 2 * len(stats["values"]):
            values = ", ".join(str(v) for v in stats["values"])
            lines.append(f"- {{expect: in_set, column: {column}, values: [{values}]}}")
    lines.append("- {expect: row_count_between, min: 1}")
    return lines


def print_pii_report(report: Any, stage: str, out: TextIO) -> bool:
    """Print what the PII step found and the `pii:` lines to add; True if a load would stop."""
    for unmatched in report.unmatched:
        print(f"\nerror: {unmatched.message()}; a run would load nothing", file=out)
    if report.unhandled:
        verdict = "a production load refuses them" if stage == "production" else "pilot: warning"
        print(f"\npersonal data with no pii rule, masked below ({verdict}):", file=out)
        for found in report.unhandled:
            print(f"  {found.table}.{found.column}: {found.why}", file=out)
        print(
            "merge into the file's pii: block (hash keeps a join key, drop never stores the "
            "column, keep: {table.column: reason} stores it in clear):",
            file=out,
        )
        print("pii:", file=out)
        for action, columns in _suggested_rules(report.unhandled).items():
            print(f"  {action}: [{', '.join(columns)}]", file=out)
    return bool(report.blocking(stage))


def _suggested_rules(unhandled: list[Any]) -> dict[str, list[str]]:
    """hash for emails (the join key across sources), drop for the rest."""
    rules: dict[str, list[str]] = {}
    for found in unhandled:
        action = "hash" if found.why.endswith("email") else "drop"
        rules.setdefault(action, []).append(f"{found.table}.{found.column}")
    return rules


def _short(value: Any, width: int = 28) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
