"""`sourcegate`: validate source files and run sources through Dagster from the terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.errors import SourceError
from pipelines.warehouse import default_warehouse_path, sources_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sourcegate` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sourcegate",
        description="A new marketing data source is one YAML file in sources/.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser("validate", help="check source files; print file:line: message")
    validate.add_argument(
        "paths", nargs="*", type=Path, help="files or folders (default: sources/)"
    )
    validate.set_defaults(handler=_cmd_validate)

    run = commands.add_parser("run", help="load sources through Dagster and run their checks")
    run.add_argument("names", nargs="*", help="source names (default: every enabled source)")
    run.add_argument("--sources", type=Path, default=None, help="folder of source files")
    run.set_defaults(handler=_cmd_run)
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.registry import load_registry

    paths = args.paths or [sources_dir()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            print(f"{path}: no such file or folder", file=sys.stderr)
        return 2
    registry = load_registry(paths, reserved_names={default_warehouse_path().stem})
    for finding in sorted(
        [*registry.errors, *registry.warnings], key=lambda e: (str(e.file), e.line)
    ):
        print(_display(finding), file=sys.stderr)
    files = len(registry.sources) + len(registry.broken_files)
    if registry.errors:
        print(
            f"{len(registry.errors)} error(s) in {len(registry.broken_files)} of {files} file(s)",
            file=sys.stderr,
        )
        return 1
    warned = f" ({len(registry.warnings)} warning(s))" if registry.warnings else ""
    print(f"ok: {len(registry.sources)} source file(s) valid{warned}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from pipelines.run_command import run_sources

    return run_sources(args.names, args.sources or sources_dir())


def _display(error: SourceError) -> str:
    """`file:line: message`, with the file relative to the current folder when it is inside."""
    try:
        shown = error.file.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = error.file
    label = "warning: " if error.severity == "warning" else ""
    return f"{shown}:{error.line}: {label}{error.message}"


if __name__ == "__main__":
    raise SystemExit(main())
