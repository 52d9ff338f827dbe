"""`sourcegate validate`: check source files; print `file:line: message` for each problem.

`rest_api:` blocks that passed dlt's checks on an earlier run are not built again: their keys
are kept in `validate_cache.json` in the warehouse's state folder (`validation_cache`);
`--no-cache` checks every block in full.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipelines.cli.messages import display
from pipelines.settings import sources_dir

FIX_HINT = "fix each problem at the file:line shown, then run `sourcegate validate` again"


def register(commands: Any) -> None:
    """Add the `validate` command to the CLI's subcommands."""
    parser = commands.add_parser("validate", help="check source files; print file:line: message")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: sources/)")
    parser.add_argument(
        "--sources", type=Path, default=None, help="folder of source files (as for other commands)"
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="check every rest_api block with dlt again, ignoring blocks that passed before",
    )
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Validate every file; exit 1 when any has an error."""
    from pipelines.kinds.rest_api.validation_cache import cache_path, using
    from pipelines.runtime.warehouse import configured_warehouse
    from pipelines.spec.check_columns import column_warnings, unknown_reference_sources
    from pipelines.spec.registry import load_registry

    paths = [*args.paths, *([args.sources] if args.sources else [])] or [sources_dir()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            print(
                f"error: {path}: no such file or folder; check the path (source files live in "
                f"{sources_dir()}, or pass the folder with --sources)",
                file=sys.stderr,
            )
        return 2
    warehouse = configured_warehouse()
    reserved = warehouse.reserved_source_names()
    if getattr(args, "no_cache", False):  # callers may build the Namespace themselves
        registry = load_registry(paths, reserved_names=reserved)
    else:
        with using(cache_path(warehouse.state_dir)):
            registry = load_registry(paths, reserved_names=reserved)
    registry.warnings.extend(w for s in registry.sources for w in column_warnings(s))
    if not args.paths:  # a whole folder: every source another can point at is here
        known = {s.name for s in registry.sources} | {e.source_name for e in registry.errors}
        registry.warnings.extend(unknown_reference_sources(registry.sources, known))
    for finding in sorted(
        [*registry.errors, *registry.warnings], key=lambda e: (str(e.file), e.line)
    ):
        print(display(finding), file=sys.stderr)
    files = len(registry.sources) + len(registry.broken_files)
    if registry.errors:
        print(FIX_HINT, file=sys.stderr)
        print(
            f"{len(registry.errors)} error(s) in {len(registry.broken_files)} of {files} file(s)",
            file=sys.stderr,
        )
        return 1
    warned = f" ({len(registry.warnings)} warning(s))" if registry.warnings else ""
    print(f"ok: {len(registry.sources)} source file(s) valid{warned}")
    return 0
