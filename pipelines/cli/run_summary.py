"""What `sourcegate run` prints: one line per source as it finishes, and the summary table."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.cli.text_table import aligned


@dataclass
class TableOutcome:
    """One row of the final summary table."""

    source: str
    table: str
    rows_loaded: int | None = None
    row_count: int | None = None
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    pii_warnings: list[str] = field(default_factory=list)  # personal columns with no rule
    check_errors: dict[str, str] = field(default_factory=dict)  # check -> why it could not run


@dataclass
class SourceOutcome:
    """How one source's run ended."""

    name: str
    status: str  # loaded | failed | skipped
    message: str = ""
    seconds: float = 0.0
    tables: list[TableOutcome] = field(default_factory=list)
    warehouse_busy: bool = False
    notes: list[str] = field(default_factory=list)  # about loads earlier runs left

    @property
    def blocking_failures(self) -> int:
        """Error-severity checks that failed."""
        return sum(len(t.checks_failed) for t in self.tables)


def one_line(outcome: SourceOutcome) -> str:
    """The line printed when a source finishes: rows, seconds and checks, or why it failed."""
    if outcome.status == "failed":
        return f"FAILED after {outcome.seconds:.1f}s: {outcome.message}"
    loaded = [t.rows_loaded for t in outcome.tables if t.rows_loaded is not None]
    verb, rows = (
        ("loaded", sum(loaded))
        if loaded
        else ("built", sum(t.row_count or 0 for t in outcome.tables))
    )
    checks = sum(t.checks_passed for t in outcome.tables)
    failed = outcome.blocking_failures
    warned = sum(len(t.checks_warned) for t in outcome.tables)
    text = f"{verb} {rows:,} rows in {outcome.seconds:.1f}s; checks: {checks} passed"
    if failed:
        text += f", {failed} FAILED"
    if warned:
        text += f", {warned} warned"
    unruled = sum(len(t.pii_warnings) for t in outcome.tables)
    if unruled:
        text += f"; WARNING: {unruled} personal column(s) with no pii rule"
    return text


def render_summary(outcomes: list[SourceOutcome]) -> str:
    """A plain-text table: source, table, rows loaded, rows in table, checks, status."""
    header = ("source", "table", "rows loaded", "rows in table", "checks passed/failed", "status")
    rows: list[tuple[str, ...]] = []
    for outcome in outcomes:
        if outcome.status == "skipped" or not outcome.tables:
            rows.append((outcome.name, "-", "-", "-", "-", outcome.status))
            continue
        for table in outcome.tables:
            failed = len(table.checks_failed)
            total = table.checks_passed + failed + len(table.checks_warned)
            checks = f"{table.checks_passed}/{failed}" if total else "-"
            if table.checks_warned:
                checks += f" (+{len(table.checks_warned)} warn)"
            status = (
                "failed" if outcome.status == "failed" else ("checks failed" if failed else "ok")
            )
            rows.append(
                (
                    outcome.name,
                    table.table,
                    _fmt(table.rows_loaded),
                    _fmt(table.row_count),
                    checks,
                    status,
                )
            )
    lines = aligned(header, rows)
    problems = [o for o in outcomes if o.status != "loaded"] + [
        o
        for o in outcomes
        if o.status == "loaded"
        and (o.blocking_failures or any(t.checks_warned or t.pii_warnings for t in o.tables))
    ]
    for outcome in problems:
        if outcome.status in ("failed", "skipped"):
            lines.append(f"{outcome.name}: {outcome.message.removeprefix(outcome.name + ': ')}")
        for table in outcome.tables:
            for name in table.checks_failed:
                lines.append(_check_line(outcome.name, table, name, "FAILED (error)"))
            for name in table.checks_warned:
                lines.append(_check_line(outcome.name, table, name, "failed (warn)"))
            for warning in table.pii_warnings:
                lines.append(f"{outcome.name}: warning: {warning}")
    return "\n".join(lines)


def _check_line(source: str, table: TableOutcome, name: str, verdict: str) -> str:
    """`src.table: check NAME FAILED (error)`, and why when the check could not run."""
    line = f"{source}.{table.table}: check {name} {verdict}"
    error = table.check_errors.get(name)
    return f"{line}: {error}" if error else line


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
