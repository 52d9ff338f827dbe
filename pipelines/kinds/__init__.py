"""Source kinds: one sub-package per kind (`files`, `rest_api`, `sql_database`).

Each implements `pipelines.kinds.base.SourceKind`. To add a kind: write its package (config
model, `SourceKind` subclass), register it in `KINDS` below, and add its block to
`SourceSpec` (`pipelines/spec/models.py`); `docs/architecture.md` walks through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.kinds.base import BuildContext, SourceKind
from pipelines.kinds.files import FilesKind
from pipelines.kinds.rest_api import RestApiKind
from pipelines.kinds.sql_database import SqlDatabaseKind

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec

# In the order error messages name them.
KINDS: dict[str, SourceKind] = {
    kind.key: kind for kind in (RestApiKind(), FilesKind(), SqlDatabaseKind())
}

__all__ = ["KINDS", "BuildContext", "SourceKind", "kind_of"]


def kind_of(spec: SourceSpec) -> SourceKind:
    """The kind of a valid source."""
    return KINDS[spec.kind]
