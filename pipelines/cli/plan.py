"""`sourcegate plan`: what a pull request changes in sources/, as Markdown for the PR."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.governance.rules import declared_columns
from pipelines.kinds import KINDS
from pipelines.settings import sources_dir
from pipelines.spec.checks import named_checks
from pipelines.spec.models import SourceSpec
from pipelines.spec.registry import FileResult, load_source_file, load_source_text, source_files


def register(commands: Any) -> None:
    """Add the `plan` command to the CLI's subcommands."""
    parser = commands.add_parser(
        "plan", help="Markdown summary of source changes against a git ref"
    )
    parser.add_argument("--base", default="origin/main", help="git ref to compare with")
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Print the plan; exit 1 when a changed file is invalid, 2 when git fails."""
    folder = args.sources or sources_dir()
    if not folder.is_dir():
        print(
            f"error: no sources folder at {folder}; pass --sources with the folder of source files",
            file=sys.stderr,
        )
        return 2
    try:
        base = files_at_ref(folder, args.base)
    except GitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    head = files_in_tree(folder)
    changes = compare(base, head)
    add_grades(changes, base, head)
    print(render_markdown(changes, args.base))
    return 1 if any(c.status == "invalid" for c in changes) else 0


class GitError(RuntimeError):
    """A git command failed; the message says which and why."""


@dataclass
class SourceChange:
    """How one source file differs between the base ref and the working tree."""

    name: str
    status: str  # added | removed | changed | unchanged | invalid
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def files_at_ref(sources_dir: Path, ref: str) -> dict[str, FileResult]:
    """Validate every source file as it was at git ``ref``, keyed by file stem."""
    top = Path(_git(sources_dir, "rev-parse", "--show-toplevel").strip())
    rel = sources_dir.resolve().relative_to(top)
    listing = _git(top, "ls-tree", "--name-only", ref, f"{rel.as_posix()}/")
    results = {}
    for name in listing.splitlines():
        path = Path(name)
        if path.suffix not in (".yaml", ".yml") or path.name.startswith("_"):
            continue
        text = _git(top, "show", f"{ref}:{path.as_posix()}")
        results[path.stem] = load_source_text(text, top / path)
    return results


def files_in_tree(sources_dir: Path) -> dict[str, FileResult]:
    """Validate every source file in the working tree, keyed by file stem."""
    return {path.stem: load_source_file(path) for path in source_files([sources_dir])}


def compare(base: dict[str, FileResult], head: dict[str, FileResult]) -> list[SourceChange]:
    """One entry per source that was added, removed, changed or broken."""
    changes = []
    for name in sorted(set(base) | set(head)):
        old, new = base.get(name), head.get(name)
        if new is not None and new.errors:
            change = SourceChange(name, "invalid")
            change.warnings = [f"line {e.line}: {e.message}" for e in new.errors]
        elif old is None or old.source is None:
            change = SourceChange(name, "added", summary=_summary(new.source.spec))
            change.warnings = _added_warnings(new.source.spec)
        elif new is None:
            change = SourceChange(name, "removed", summary=_summary(old.source.spec))
            if old.source.spec.stage == "production":
                change.warnings.append("a production source is removed: its tables stop updating")
        else:
            change = _diff(name, old.source.spec, new.source.spec)
        if new is not None:
            change.warnings += [f"line {w.line}: {w.message}" for w in new.warnings]
        if change.status != "unchanged":
            changes.append(change)
    return changes


def add_grades(
    changes: list[SourceChange], base: dict[str, FileResult], head: dict[str, FileResult]
) -> None:
    """Add each changed source's current scorecard grade, from the Dagster instance this
    machine uses; a plan never fails for want of one (CI may have no instance)."""
    known = {}
    for change in changes:
        if change.status == "added":
            change.summary.append("scorecard: new source, no grade yet")
            continue
        # the grade of the source as it runs today: the base file's spec, unless it was broken
        before, after = base.get(change.name), head.get(change.name)
        source = (before.source if before else None) or (after.source if after else None)
        if source is not None:
            known[change.name] = source
    if not known:
        return
    from pipelines.scorecard.current import current_cards

    try:
        cards, missing = current_cards(list(known.values()))
    except Exception as exc:  # an unreachable instance must not cost the PR its plan
        cards, missing = (
            {},
            f"no grade: the Dagster instance could not be read ({type(exc).__name__})",
        )
    for change in changes:
        if change.name in cards:
            change.summary.append(_grade_line(cards[change.name]))
        elif change.name in known:
            change.summary.append(f"scorecard: {missing}")


def _grade_line(card: Any) -> str:
    from pipelines.scorecard.formatting import score

    if card.never_loaded:
        return f"scorecard: grade {card.grade}, never loaded"
    worst = f"; worst: {card.worst}" if card.worst else ""
    line = f"scorecard: grade **{card.grade}** ({score(card.total)}{worst})"
    return line + (" ⚠️ production source below C" if card.called_out else "")


def render_markdown(changes: list[SourceChange], base_ref: str) -> str:
    """The PR comment: a headline, then one section per source."""
    if not changes:
        return f"## sourcegate plan (against `{base_ref}`)\n\nNo changes to sources.\n"
    counts = {s: sum(c.status == s for c in changes) for s in ("added", "changed", "removed")}
    invalid = sum(c.status == "invalid" for c in changes)
    warned = sum(bool(c.warnings) for c in changes if c.status != "invalid")
    lines = [
        f"## sourcegate plan (against `{base_ref}`)",
        "",
        f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} removed"
        + (f", **{invalid} invalid**" if invalid else "")
        + (f", {warned} with warnings" if warned else ""),
        "",
    ]
    for change in changes:
        lines.append(f"### `{change.name}` ({change.status})")
        lines.append("")
        lines += [f"- {item}" for item in change.summary + change.details]
        lines += [f"- ⚠️ **{warning}**" for warning in change.warnings]
        lines.append("")
    return "\n".join(lines)


def _summary(spec: SourceSpec) -> list[str]:
    columns = declared_columns(spec)
    out = [
        f"kind: {spec.kind}; stage: {spec.stage}; schedule: {_schedule(spec)}",
        f"owner: {spec.owner}; steward: {spec.steward or '-'}",
    ]
    for table in spec.table_names():
        cols = sorted(c for t, c in columns if t == table)
        out.append(f"table `{table}`: columns named: {', '.join(cols) if cols else '(inferred)'}")
    out.append(
        f"PII: hash {', '.join(spec.pii.hash) or '-'}; drop {', '.join(spec.pii.drop) or '-'}"
    )
    for column, reason in spec.pii.keep.items():
        out.append(f"PII kept in clear: {column} ({reason})")
    checks = _checks(spec)
    out.append(f"checks: {len(checks)} ({', '.join(sorted(checks)) or 'none'})")
    if spec.secret_names():
        out.append(f"needs secrets: {', '.join(spec.secret_names())}")
    return out


def _schedule(spec: SourceSpec) -> str:
    """`0 6 * * * (Europe/Berlin)`, or `manual only`."""
    return f"{spec.schedule} ({spec.schedule_timezone})" if spec.schedule else "manual only"


def _added_warnings(spec: SourceSpec) -> list[str]:
    return [] if spec.checks else ["no checks: nothing guards this data"]


def _checks(spec: SourceSpec) -> dict[str, object]:
    """`table.check_name` -> the check model, for comparing two versions."""
    return {
        f"{table}.{name}": check
        for table, checks in spec.checks.items()
        for name, check in named_checks(checks)
    }


def _diff(name: str, old: SourceSpec, new: SourceSpec) -> SourceChange:
    change = SourceChange(name, "changed")
    attrs = ("kind", "stage", "schedule", "schedule_timezone", "owner", "steward", "purpose")
    for attr in (*attrs, "freshness_hours"):
        before, after = getattr(old, attr), getattr(new, attr)
        if before != after:
            change.details.append(f"{attr}: `{before}` → `{after}`")
    if old.table_names() != new.table_names():
        change.details.append(f"tables: {old.table_names()} → {new.table_names()}")
    if old.model_dump(include=set(KINDS)) != new.model_dump(include=set(KINDS)):
        change.details.append(f"{new.kind} connection settings changed")
    if old.schema_contract() != new.schema_contract():
        change.details.append(f"contract: {old.schema_contract()} → {new.schema_contract()}")
    for rule in ("hash", "drop"):
        added = sorted(set(getattr(new.pii, rule)) - set(getattr(old.pii, rule)))
        removed = sorted(set(getattr(old.pii, rule)) - set(getattr(new.pii, rule)))
        if added:
            change.details.append(f"PII {rule} added: {', '.join(added)}")
        if removed:
            change.details.append(f"PII {rule} removed: {', '.join(removed)}")
    for column, reason in new.pii.keep.items():
        if old.pii.keep.get(column) != reason:
            change.warnings.append(f"PII kept in clear: {column} ({reason}); IT must agree")
    # a column moved to `keep` is warned about above, with its reason
    still_covered = set(new.pii.hash) | set(new.pii.drop) | set(new.pii.keep)
    for column in sorted((set(old.pii.hash) | set(old.pii.drop)) - still_covered):
        change.warnings.append(f"PII rule removed: {column} will now land as raw values")
    change.details += _check_details(old, new)
    production = new.stage == "production" or old.stage == "production"
    if production:
        change.warnings += [f"production check weakened: {w}" for w in _weakened(old, new)]
    if old.stage == "production" and new.stage == "pilot":
        change.warnings.append("production source moved back to pilot: its checks stop blocking")
    added_secrets = sorted(set(new.secret_names()) - set(old.secret_names()))
    if added_secrets:
        change.details.append(f"needs new secrets: {', '.join(added_secrets)}")
    if not change.details and not change.warnings:
        change.status = "unchanged" if old == new else "changed"
        if old != new:
            change.details.append("description or other text changed")
    return change


def _check_details(old: SourceSpec, new: SourceSpec) -> list[str]:
    before, after = _checks(old), _checks(new)
    details = []
    if added := sorted(set(after) - set(before)):
        details.append(f"checks added: {', '.join(added)}")
    if removed := sorted(set(before) - set(after)):
        details.append(f"checks removed: {', '.join(removed)}")
    if changed := sorted(k for k in set(before) & set(after) if before[k] != after[k]):
        details.append(f"checks changed: {', '.join(changed)}")
    return details


def _weakened(old: SourceSpec, new: SourceSpec) -> list[str]:
    before, after = _checks(old), _checks(new)
    found = []
    for key, check in sorted(before.items()):
        if key not in after:
            found.append(f"{key} removed")
            continue
        now = after[key]
        if check.severity == "error" and now.severity == "warn":
            found.append(f"{key} downgraded from error to warn")
        if (now.mostly or 1.0) < (check.mostly or 1.0):
            found.append(f"{key} now passes with mostly={now.mostly}")
        low_before, low_now = getattr(check, "min", None), getattr(now, "min", None)
        if low_before is not None and (low_now is None or low_now < low_before):
            found.append(f"{key} lower bound relaxed ({low_before:g} → {low_now})")
        high_before, high_now = getattr(check, "max", None), getattr(now, "max", None)
        if high_before is not None and (high_now is None or high_now > high_before):
            found.append(f"{key} upper bound relaxed ({high_before:g} → {high_now})")
        if set(getattr(now, "values", None) or []) - set(getattr(check, "values", None) or []):
            found.append(f"{key} accepts more values")
    return found


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH); install git to compare") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise GitError(f"git {' '.join(args)} failed: {said[0] if said else ''}{_git_hint(said)}")
    return done.stdout


def _git_hint(said: list[str]) -> str:
    """What to do about the git failures a plan meets: no checkout, or an unknown base ref."""
    text = "\n".join(said).lower()
    if "not a git repository" in text:
        return "; run `sourcegate plan` inside a git checkout, or pass --sources pointing into one"
    if "not a valid object name" in text or "unknown revision" in text or "bad revision" in text:
        return (
            "; the --base ref does not exist here: fetch it first (`git fetch origin`) or pass "
            "--base with an existing branch or commit"
        )
    return ""
