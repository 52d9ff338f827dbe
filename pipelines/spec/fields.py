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


class ValidationNaming:
    """snake_case as dlt writes it, close enough to compare names within one source file.

    `validate` and Dagster definitions use it so that loading hundreds of files does not import
    dlt (about a second). PII rules match with the source's real naming at load time
    (`governance.pii_rules.dlt_naming`), so a difference here only changes a validation
    message, never what lands.
    """

    _NON_WORD = re.compile(r"[^a-z0-9_]+")
    _CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

    def normalize_identifier(self, name: str) -> str:
        """`firstName` -> first_name, `E-Mail` -> e_mail."""
        snake = self._NON_WORD.sub("_", self._CAMEL.sub("_", name.strip()).lower())
        return re.sub("_+", "_", snake).rstrip("_") or "_"

    def normalize_path(self, path: str) -> str:
        """Each `__`-separated part normalized on its own."""
        return "__".join(self.normalize_identifier(part) for part in path.split("__"))


def landed_column(column: str) -> str:
    """A nested field written as the API's path, as dlt lands it: `attributes.email` ->
    `attributes__email`. Nothing else is renamed: a name `ValidationNaming` would only
    approximate makes a check fail on a missing column, never test another one."""
    return column.replace(".", "__")
