"""`sourcegate preview`: a test read into a throwaway DuckDB file, never the warehouse."""

from __future__ import annotations

import argparse
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
SUGGESTION_ROWS = 1000  # rows per table kept from the pages read, for the suggested checks
MASK = "***"


def register(commands: Any) -> None:
    """Add the `preview` command to the CLI's subcommands."""
    parser = commands.add_parser("preview", help="test-read a source into a throwaway DuckDB")
    parser.add_argument("name", help="source name")
    parser.add_argument(
        "--limit",
        type=int,
        default=50,
        help="rows to read per table (default 50): as many pages as that takes, never all; "
        "a page or file batch comes whole, up to 1,000 rows, for the suggested checks",
    )
    parser.add_argument(
        "--checks",
        action="store_true",
        help="also run the checks on the rows read (loads Great Expectations: a few seconds)",
    )
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Preview one valid source; say why when the name has no valid file."""
    from pipelines.governance.secrets import MissingSecretError

    folder = args.sources or sources_dir()
    source, errors = find_source(folder, args.name)
    if source is None and errors:
        for error in errors:
            print(display(error), file=sys.stderr)
        print(
            f"error: {args.name} has {len(errors)} problem(s), listed above; fix them (run "
            "`sourcegate validate` to check again), then preview it",
            file=sys.stderr,
        )
        return 1
    if source is None:
        print(
            f"error: no valid source named {args.name!r}{_nearby(folder, args.name)}",
            file=sys.stderr,
        )
        return 2
    try:
        return preview_source(source, max(1, args.limit), sys.stdout, run_checks=args.checks)
    except MissingSecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def find_source(folder: Path, name: str) -> tuple[LoadedSource | None, list[Any]]:
    """Validate only ``name``'s own file (a source's name is its file's stem): a preview of one
    source does not pay for validating every other file in the folder."""
    from pipelines.runtime.warehouse import configured_warehouse
    from pipelines.spec.registry import load_source_file

    for suffix in (".yaml", ".yml"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            reserved = configured_warehouse().reserved_source_names()
            result = load_source_file(path, reserved)
            return result.source, result.errors
    return None, []


def _nearby(folder: Path, name: str) -> str:
    """`; did you mean 'x'? (sources in FOLDER: a, b)`, from the file names alone."""
    import difflib

    from pipelines.spec.registry import source_files

    names = [path.stem for path in source_files([folder])] if folder.is_dir() else []
    if not names:
        return f"; there is no source file in {folder}"
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (sources in {folder}: {', '.join(names)})"


def preview_source(source: LoadedSource, limit: int, out: TextIO, run_checks: bool = False) -> int:
    """Read the first page(s) or batch of each table, then print schema, samples, checks and
    suggestions.

    Only as many pages as ``limit`` rows need are requested (one at a time: no pages are
    fetched ahead), and of those at most `SUGGESTION_ROWS` rows per table are kept: the first
    ``limit`` are shown, all of them inform the suggested checks. Checks always have their
    columns looked up; ``run_checks`` also runs them through GX on the rows read.

    Returns 1 when a real load would be refused for PII (a rule that matches nothing, or in
    production a personal column with no rule) or a check names a column that is not there,
    else 0.
    """
    from pipelines.kinds import kind_of
    from pipelines.runtime.build import build_pipeline, build_source, pii_guard

    # a preview never requests pages ahead of the ones it reads
    spec = kind_of(source.spec).preview_spec(source.spec)
    real = configured_warehouse()
    with tempfile.TemporaryDirectory(prefix="sourcegate-preview-") as tmp:
        scratch = Warehouse(Path(tmp) / "preview.duckdb")
        # Hash like the real warehouse does, without creating anything beside it.
        salt = load_salt(real.state_dir, create=False)
        dlt_source = build_source(spec, scratch, salt=salt)
        # stop after the page that brings `limit` rows; dlt cannot limit a child resource
        # (a transformer), which reads one page per parent row: fewer parent rows then
        dlt_source.add_limit(max_items=limit, count_rows=True)
        has_children = any(r.is_transformer for r in dlt_source.resources.values())
        for resource in dlt_source.resources.values():
            parent = has_children and not resource.is_transformer
            budget = _RowBudget(limit if parent else max(limit, SUGGESTION_ROWS))
            resource.add_map(budget.slice_arrow).add_filter(budget.keep_row)
        pipeline = build_pipeline(spec, scratch, prefix="preview")
        print(
            f"previewing {spec.name}: the first page(s) or file batch of each table, enough for "
            f"{limit} rows ...",
            file=out,
            flush=True,
        )
        with kind_of(spec).run_settings(spec):  # the source's own timeouts and retries
            pipeline.extract(dlt_source, schema_contract=spec.schema_contract())
        report = pii_guard(dlt_source).report()
        pipeline.normalize()
        pipeline.load()
        with scratch.connect(read_only=True) as con:
            tables = {t: _describe(con, spec.name, t, limit) for t in spec.table_names()}
            suggestions = suggest_checks(con, source, report)
        if run_checks:
            outcomes = _run_checks(scratch, source, tables)
        else:
            outcomes = _missing_columns(source, tables)
    blocking = print_pii_report(report, spec.stage, out)
    for table, info in tables.items():
        masked = report.unhandled_columns(table)
        rules = _pii_note(spec, table) if not report.unmatched else "a PII rule matched nothing"
        suggested = suggestions.get(table, [])
        _print_table(table, info, outcomes.get(table, []), out, rules, masked, suggested)
    declared = sum(len(checks) for checks in spec.checks.values())
    if run_checks and any(c.expect == "references" for cs in spec.checks.values() for c in cs):
        print(
            "\nreferences checks were not run: the rows read hold only part of the table they "
            "point to; `sourcegate run` checks them on whole tables.",
            file=out,
        )
    if declared and not run_checks:
        print(
            f"\n{declared} check(s) declared; their columns were looked up, the checks not run. "
            "Add --checks to run them on these rows (loads Great Expectations, a few seconds).",
            file=out,
        )
    print("\nnothing was written to the warehouse.", file=out)
    # a check on a column that is not there fails a preview, with or without --checks
    return 1 if blocking or _missing_columns(source, tables) else 0


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
    """Columns, the first ``limit`` rows and the number of rows read of one scratch table."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0]
    if not exists:
        return {"columns": [], "rows": [], "count": 0}
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    columns = [
        (name, dtype)
        for name, dtype, *_ in con.execute(f"describe {relation}").fetchall()
        if not name.startswith("_dlt")
    ]
    quoted = ", ".join(quote_identifier(c) for c, _ in columns)
    # rowid: the order the rows were read in (a plain scan may interleave its threads)
    query = f"select {quoted} from {relation} order by rowid limit {limit}"
    rows = con.execute(query).fetchall()
    count = con.execute(f"select count(*) from {relation}").fetchone()[0]
    return {"columns": columns, "rows": rows, "count": count}


def _pii_note(spec: Any, table: str) -> str:
    """`hashed: email; dropped, never stored: phone`, as the file's rules name them."""
    parts = []
    for action, verb in (("hash", "hashed"), ("drop", "dropped, never stored")):
        columns = spec.pii.columns_for(table, action)
        if columns:
            parts.append(f"{verb}: {', '.join(columns)}")
    return "; ".join(parts) or "no PII rules for this table"


def _run_checks(
    scratch: Warehouse, source: LoadedSource, tables: dict[str, Any]
) -> dict[str, list]:
    """GX outcomes of each table's checks on the rows read, `references` left out (the rows
    read hold only part of the table they point to, so every key beyond it would be an
    orphan; `run` checks them on whole tables)."""
    from pipelines.spec.checks import ReferencesCheck
    from quality.runner import WarehouseChecker

    spec = source.spec
    wanted = {
        table: [(name, c) for name, c in named_checks(checks) if not isinstance(c, ReferencesCheck)]
        for table, checks in spec.checks.items()
        if tables.get(table, {}).get("count")
    }
    wanted = {table: named for table, named in wanted.items() if named}
    if not wanted:
        return {}
    checker = WarehouseChecker(scratch.sqlalchemy_url())
    try:
        return {
            table: list(
                zip(
                    [name for name, _ in named],
                    checker.run(spec.name, table, [check for _, check in named]),
                    strict=True,
                )
            )
            for table, named in wanted.items()
        }
    finally:
        checker.close()


def _missing_columns(source: LoadedSource, tables: dict[str, Any]) -> dict[str, list]:
    """Failed outcomes for the checks that name a column their table lacks (no GX needed)."""
    from pipelines.spec.check_columns import missing_columns
    from quality.runner import missing_column_outcome

    found: dict[str, list] = {}
    for table, checks in source.spec.checks.items():
        columns = [c for c, _ in tables.get(table, {}).get("columns", [])]
        if not columns:
            continue
        named = named_checks(checks)
        for index, message in missing_columns(table, checks, columns).items():
            outcome = missing_column_outcome(table, checks[index], message)
            found.setdefault(table, []).append((named[index][0], outcome))
    return found


def _print_table(
    table: str,
    info: dict[str, Any],
    outcomes: list,
    out: TextIO,
    rules_note: str,
    masked: list[str],
    suggestions: list[str],
) -> None:
    print(f"\n== {table}: {info['count']} rows read", file=out)
    if not info["columns"]:
        print(
            "   (no rows arrived: the source is empty, or, for an API, the endpoint's "
            "data_selector points at something other than the records)",
            file=out,
        )
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
            extra += f": {outcome.error}" if outcome.error else ""
            print(f"  {name:<40} {verdict}{extra}", file=out)
    if suggestions:
        print("suggested checks (paste under checks:):", file=out)
        print(f"  {table}:", file=out)
        for line in suggestions:
            print(f"    {line}", file=out)


def suggest_checks(con: Any, source: LoadedSource, report: Any) -> dict[str, list[str]]:
    """YAML lines per table for checks that hold on every row read, not only those shown
    (`quality.suggestions`); nothing for personal columns masked for want of a PII rule."""
    from quality.suggestions import suggest_for_source

    tables = source.spec.table_names()
    return suggest_for_source(con, source.spec, {t: report.unhandled_columns(t) for t in tables})


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
