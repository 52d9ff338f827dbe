"""Building blocks the source-file models share: strict models, identifiers, column types."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]*$"
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)

WriteDisposition = Literal["append", "replace", "merge"]
DataType = Literal[
    "text", "bigint", "double", "decimal", "bool", "timestamp", "date", "time", "json", "binary"
]


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys (each one is a typo to report)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_identifier(value: str, what: str) -> str:
    """``value`` if it is a lower-case identifier; else an error that suggests one."""
    if not _IDENTIFIER_RE.match(value):
        raise ValueError(
            f"{what} {value!r} must be lower-case letters, digits and underscores "
            f"(for example {re.sub(r'[^a-z0-9_]+', '_', value.lower()).strip('_') or 'orders'!r})"
        )
    return value


def as_list(value: str | list[str] | None) -> list[str]:
    """A key given as one column or a list of columns, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
