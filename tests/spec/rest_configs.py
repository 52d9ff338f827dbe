"""The table of REST configs in `rest_configs.yaml`, as whole source files.

VALID: (id, file text) that dlt builds and `validate` accepts. INVALID: (id, file text, message
fragment) that dlt or a named sourcegate rule refuses on the line marked `# <-`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

HEAD = "name: rest_case\ndescription: A REST source\nowner: team:marketing-ops\nrest_api:\n"
_TABLE = yaml.safe_load(Path(__file__).with_name("rest_configs.yaml").read_text())


def source_text(block: str) -> str:
    """A whole source file around a `rest_api:` block (given unindented)."""
    return HEAD + "".join(f"  {line}\n" if line else "\n" for line in block.splitlines())


def marked_line(text: str) -> int:
    """The 1-based line that carries the `# <-` marker."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.endswith("# <-"))


VALID: list[tuple[str, str]] = [
    (case, source_text(block)) for case, block in _TABLE["valid"].items()
]
INVALID: list[tuple[str, str, str]] = [
    (case, source_text(row["config"]), row["message"]) for case, row in _TABLE["invalid"].items()
]
