"""`sourcegate schema`: write `sources/source.schema.json`, which editors use to check YAML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipelines.settings import sources_dir


def register(commands: Any) -> None:
    """Add the `schema` command to the CLI's subcommands."""
    parser = commands.add_parser("schema", help="write sources/source.schema.json for editors")
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Write the schema file and say where."""
    from pipelines.spec.json_schema import write_schema

    folder = args.sources or sources_dir()
    if not folder.is_dir():
        print(
            f"error: no sources folder at {folder}; pass --sources with the folder of source files",
            file=sys.stderr,
        )
        return 2
    print(f"wrote {write_schema(folder)}")
    return 0
