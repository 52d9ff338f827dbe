"""The interface every source kind implements, and what a kind gets to build its dlt source.

A kind is the part of a source file that says where data comes from: `files:`, `rest_api:` or
`sql_database:`. Everything else in the file (owner, stage, PII, checks, contract) is the same
for every kind and is handled outside `pipelines/kinds`. The rest of the code calls a kind only
through this interface, found with `pipelines.kinds.kind_of(spec)`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.models import SourceSpec

PathT = tuple[str | int, ...]
Problem = tuple[PathT, str]  # where in the file (a key path) and what is wrong there


@dataclass(frozen=True)
class KnownColumns:
    """A table's columns as they will land, and where they were read (for messages)."""

    names: list[str]
    seen_in: str


@dataclass(frozen=True)
class BuildContext:
    """What a kind needs to build its dlt source for one run or preview."""

    warehouse: Warehouse
    root: Path  # the folder that relative paths in a source file are read from

    @property
    def lists_as_text(self) -> bool:
        """Lists land as JSON text, not as JSON columns (PostgreSQL's loader takes no lists)."""
        return self.warehouse.kind != "duckdb"


class SourceKind:
    """One source kind. Subclasses set ``key`` and implement the two abstract methods."""

    key: ClassVar[str]  # the kind's block in a source file, e.g. `files`
    # The environment variable a new file from `sourcegate new` names: `<NAME><suffix>`.
    secret_suffix: ClassVar[str] = "_TOKEN"

    def config(self, spec: SourceSpec) -> Any:
        """The kind's block of ``spec`` (a model, or a dict for `rest_api:`)."""
        return getattr(spec, self.key)

    def table_names(self, spec: SourceSpec) -> list[str]:
        """The warehouse tables the source produces, in file order."""
        raise NotImplementedError

    def build_source(self, spec: SourceSpec, context: BuildContext) -> Any:
        """The dlt source that reads this source's data (the PII step is added after it).

        Raises:
            MissingSecretError: if a `{secret: NAME}` it uses is not set.
        """
        raise NotImplementedError

    def after_pii(self, source: Any, spec: SourceSpec, context: BuildContext) -> None:
        """Add steps that must see values as they land (after hashing) to ``source``."""

    def problems(self, spec: SourceSpec, deep: bool) -> list[Problem]:
        """What is wrong in the kind's block beyond its model's own checks.

        ``deep`` allows checks that import a library (dlt) and take a moment.
        """
        return []

    def declared_columns(self, spec: SourceSpec) -> dict[tuple[str, str], PathT]:
        """The (table, column) pairs the kind's block names (keys, cursors, type hints)."""
        return {}

    def preview_spec(self, spec: SourceSpec) -> SourceSpec:
        """``spec`` as `preview` reads it: only what a first look needs."""
        return spec

    def primary_keys(self, spec: SourceSpec) -> dict[str, list[str]]:
        """Each table's declared primary key columns, as written in the file."""
        return {}

    def columns_before_load(self, spec: SourceSpec) -> dict[str, KnownColumns]:
        """The columns each table will land with, where the kind can tell without loading
        (read from the data itself, named as dlt lands them); only called by deep validation."""
        return {}

    def run_metadata(self, source: Any) -> dict[str, Any]:
        """Facts about a finished load of ``source`` for the asset's metadata."""
        return {}

    def run_settings(self, spec: SourceSpec) -> contextlib.AbstractContextManager[None]:
        """Settings to hold while the source's load runs (for example HTTP timeouts)."""
        return contextlib.nullcontext()
