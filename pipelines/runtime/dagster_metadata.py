"""Plain values out of what Dagster keeps as metadata."""

from __future__ import annotations

from typing import Any


def metadata_value(entry: Any) -> Any:
    """The value a `MetadataValue` wraps (``entry`` itself when it wraps nothing)."""
    return getattr(entry, "value", entry)
