"""`sourcegate`: the command line. One module per command; each adds its own parser.

Every command runs inside one error boundary (`pipelines.cli.errors`): a failure prints one or
two lines saying what failed, why and what to do, never a traceback unless `--debug` asks.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pipelines.cli import (
    new,
    plan,
    preview,
    run,
    schema,
    scorecard,
    status,
    templates,
    validate,
)
from pipelines.cli.errors import add_debug_flag, run_command

COMMANDS = (validate, run, status, plan, preview, new, templates, schema, scorecard)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sourcegate` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return run_command(args)


def build_parser() -> argparse.ArgumentParser:
    """The `sourcegate` parser with every command's subparser."""
    parser = argparse.ArgumentParser(
        prog="sourcegate",
        description="A new marketing data source is one YAML file in sources/.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    add_debug_flag(parser, commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
