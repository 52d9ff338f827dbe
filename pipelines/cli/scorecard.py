"""`sourcegate scorecard`: how every source is doing, from the Dagster instance and git."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipelines.settings import sources_dir


def register(commands: Any) -> None:
    """Add the `scorecard` command to the CLI's subcommands."""
    from pipelines.scorecard.compute import DEFAULT_WINDOW_DAYS

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
    if args.days <= 0:
        print("error: --days must be more than 0, for example --days 30", file=sys.stderr)
        return 2
    scorecard = compute(args.names, args.sources or sources_dir(), args.days)
    if scorecard is None:
        return 2
    from pipelines.scorecard.text import render_text

    print(render_text(scorecard))
    if args.html:
        from pipelines.scorecard.html import write_html

        path = write_html(scorecard, args.html)
        print(f"\nwrote {path}")
    return 0


def compute(names: list[str], sources: Path, days: float) -> Any:
    """The scorecard of the named (or every enabled) source; None after printing why not."""
    from pipelines.runtime.instance import cli_instance, ensure_dagster_home
    from pipelines.scorecard.compute import build_scorecard
    from pipelines.spec.registry import load_registry

    registry = load_registry(sources, deep=False)
    by_name = {s.name: s for s in registry.sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        print(f"error: no such source: {', '.join(unknown)}", file=sys.stderr)
        return None
    chosen = [by_name[n] for n in names] or [s for s in registry.sources if s.spec.enabled]
    ensure_dagster_home()
    with cli_instance() as instance:
        return build_scorecard(
            instance, chosen, days, progress=lambda line: print(line, file=sys.stderr, flush=True)
        )
