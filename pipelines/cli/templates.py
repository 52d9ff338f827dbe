"""`sourcegate templates`: the connector catalog, one line per vendor on what it loads."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add the `templates` command to the CLI's subcommands."""
    parser = commands.add_parser(
        "templates", help="list the ready connectors (`sourcegate new NAME --from KEY`)"
    )
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Print the catalog: key, vendor, what it loads, and the secrets IT sets."""
    from pipelines.spec.catalog import load_catalog

    catalog = load_catalog()
    width = max((len(key) for key in catalog), default=0)
    for key, template in catalog.items():
        print(f"{key:<{width}}  {template.vendor}: {template.loads}")
    print(
        f"\n{len(catalog)} templates. Start one with `sourcegate new NAME --from KEY`; it asks "
        "only for what differs between accounts."
    )
    return 0
