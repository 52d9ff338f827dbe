"""`sourcegate`: validate source files and run sources through Dagster from the terminal."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.errors import SourceError
from pipelines.warehouse import (
    DEFAULT_WAIT_TIMEOUT,
    WAIT_TIMEOUT_ENV,
    configured_warehouse,
    sources_dir,
    wait_timeout,
)


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
    run.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"give up waiting for a warehouse held by another run after this long "
        f"(default ${WAIT_TIMEOUT_ENV} or {DEFAULT_WAIT_TIMEOUT:.0f})",
    )
    run.set_defaults(handler=_cmd_run)

    status = commands.add_parser(
        "status", help="runs in progress, warehouse slots and locks, pending loads"
    )
    status.add_argument(
        "--repair",
        action="store_true",
        help="mark runs whose process died as failed and free what they hold",
    )
    status.add_argument("--sources", type=Path, default=None, help="folder of source files")
    status.set_defaults(handler=_cmd_status)

    plan = commands.add_parser("plan", help="Markdown summary of source changes against a git ref")
    plan.add_argument("--base", default="origin/main", help="git ref to compare with")
    plan.add_argument("--sources", type=Path, default=None, help="folder of source files")
    plan.set_defaults(handler=_cmd_plan)

    preview = commands.add_parser("preview", help="test-read a source into a throwaway DuckDB")
    preview.add_argument("name", help="source name")
    preview.add_argument("--limit", type=int, default=50, help="rows per table (default 50)")
    preview.add_argument("--sources", type=Path, default=None, help="folder of source files")
    preview.set_defaults(handler=_cmd_preview)

    new = commands.add_parser("new", help="write a new source file from a template")
    new.add_argument("--name")
    new.add_argument("--kind", choices=["files", "rest_api", "sql_database"])
    new.add_argument("--owner", help="email or team:<slug>")
    new.add_argument("--description")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    new.add_argument("--sources", type=Path, default=None, help="folder of source files")
    new.set_defaults(handler=_cmd_new)

    schema = commands.add_parser("schema", help="write sources/source.schema.json for editors")
    schema.add_argument("--sources", type=Path, default=None, help="folder of source files")
    schema.set_defaults(handler=_cmd_schema)
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.registry import load_registry

    paths = args.paths or [sources_dir()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            print(f"{path}: no such file or folder", file=sys.stderr)
        return 2
    registry = load_registry(paths, reserved_names=configured_warehouse().reserved_source_names())
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
    from pipelines.interrupts import exit_now_if_threads_linger, terminate_as_interrupt
    from pipelines.run_command import RunInterruptedError, run_sources

    if args.wait_timeout is not None:
        os.environ[WAIT_TIMEOUT_ENV] = str(args.wait_timeout)  # the steps' writer lock reads it
    with terminate_as_interrupt():
        try:
            return run_sources(
                args.names, args.sources or sources_dir(), wait_timeout=wait_timeout()
            )
        except RunInterruptedError as exc:
            print(exc.explain(), file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted between loads: every load that finished is kept", file=sys.stderr)
    exit_now_if_threads_linger(130)
    return 130


def _cmd_status(args: argparse.Namespace) -> int:
    from pipelines.status import show_status

    return show_status(args.sources or sources_dir(), repair=args.repair, out=sys.stdout)


def _cmd_plan(args: argparse.Namespace) -> int:
    from pipelines.plan import GitError, compare, files_at_ref, files_in_tree, render_markdown

    folder = args.sources or sources_dir()
    try:
        base = files_at_ref(folder, args.base)
    except GitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    changes = compare(base, files_in_tree(folder))
    print(render_markdown(changes, args.base))
    return 1 if any(c.status == "invalid" for c in changes) else 0


def _cmd_preview(args: argparse.Namespace) -> int:
    from pipelines.preview import preview_source
    from pipelines.registry import load_registry
    from pipelines.secrets import MissingSecretError

    registry = load_registry(args.sources or sources_dir())
    source = registry.get(args.name)
    if source is None:
        broken = [e for e in registry.errors if e.source_name == args.name]
        for error in broken:
            print(_display(error), file=sys.stderr)
        print(f"error: no valid source named {args.name!r}", file=sys.stderr)
        return 2
    try:
        return preview_source(source, max(1, args.limit), sys.stdout)
    except MissingSecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _cmd_new(args: argparse.Namespace) -> int:
    from pipelines.registry import load_source_file
    from pipelines.scaffold import ScaffoldError, scaffold_source

    folder = args.sources or sources_dir()
    answers = {k: getattr(args, k) for k in ("name", "kind", "owner", "description")}
    try:
        path = scaffold_source(
            folder, answers, ask=input if sys.stdin.isatty() else None, force=args.force
        )
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = load_source_file(path)
    print(f"created {path}")
    for finding in [*result.errors, *result.warnings]:
        print(_display(finding), file=sys.stderr)
    print("next: replace every TODO, run `sourcegate validate`, then open a pull request")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from pipelines.json_schema import write_schema

    print(f"wrote {write_schema(args.sources or sources_dir())}")
    return 0


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
