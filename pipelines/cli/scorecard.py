"""`sourcegate scorecard`: how every source is doing, from the Dagster instance and git."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pipelines.settings import sources_dir

MAX_DAYS = 3650


def register(commands: Any) -> None:
    """Add the `scorecard` command to the CLI's subcommands."""
    from pipelines.scorecard.model import DEFAULT_WINDOW_DAYS

    parser = commands.add_parser(
        "scorecard",
        help="grade every source: freshness, volume, schema, checks, runs, time to integrate",
    )
    parser.add_argument("names", nargs="*", help="source names (default: every enabled source)")
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.add_argument(
        "--days",
        type=float,
        default=DEFAULT_WINDOW_DAYS,
        metavar="N",
        help=f"the window, in days before now (default {DEFAULT_WINDOW_DAYS:g})",
    )
    parser.add_argument(
        "--html", type=Path, default=None, metavar="PATH", help="also write a self-contained page"
    )
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Print the scorecard (and write the page); it reports, so it exits 0 whatever the grades."""
    problem = _argument_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    scorecard = compute(args.names, args.sources or sources_dir(), args.days)
    if scorecard is None:
        return 2
    from pipelines.scorecard.text import render_text

    print(render_text(scorecard))
    if args.html:
        from pipelines.scorecard.html import write_html

        try:
            path = write_html(scorecard, args.html)
        except OSError as exc:
            print(f"error: cannot write {args.html}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"\nwrote {path}")
    return 0


def _argument_problem(args: argparse.Namespace) -> str:
    """What is wrong with --days or --html, before any work is done ("" when nothing)."""
    if not (0 < args.days <= MAX_DAYS):  # also refuses nan
        return f"--days must be more than 0 and at most {MAX_DAYS}, for example --days 30"
    if args.html is not None:
        if args.html.is_dir():
            return (
                f"--html {args.html} is a folder; give a file name, e.g. {args.html}/scorecard.html"
            )
        folder = next(
            (p for p in [args.html.parent, *args.html.parent.parents] if p.exists()), None
        )
        if folder is not None and not folder.is_dir():
            return f"--html {args.html}: {folder} is a file, not a folder"
        if folder is None or not os.access(folder, os.W_OK | os.X_OK):
            return f"--html {args.html}: cannot write into {folder or args.html.parent}"
    return ""


def compute(names: list[str], sources: Path, days: float) -> Any:
    """The scorecard of the named (or every enabled) source; None after printing why not."""
    from pipelines.cli.messages import unknown_source_reason
    from pipelines.runtime.instance import cli_instance, dagster_home, ensure_dagster_home
    from pipelines.scorecard.compute import build_scorecard
    from pipelines.spec.registry import load_registry

    registry = load_registry(sources, deep=False)
    by_name = {s.name: s for s in registry.sources}
    for name in (n for n in names if n not in by_name):
        reason = unknown_source_reason(name, registry.errors)
        print(f"error: cannot score {name!r}: {reason}", file=sys.stderr)
    if any(n not in by_name for n in names):
        return None
    chosen = [by_name[n] for n in names] or [s for s in registry.sources if s.spec.enabled]
    home = dagster_home()
    if not (home / "dagster.yaml").is_file():
        print(
            f"note: no Dagster instance at {home} yet: nothing has run here, so every source "
            "is graded as never loaded (set DAGSTER_HOME to the shared instance)",
            file=sys.stderr,
        )
    ensure_dagster_home()
    with cli_instance() as instance:
        return build_scorecard(
            instance, chosen, days, progress=lambda line: print(line, file=sys.stderr, flush=True)
        )
