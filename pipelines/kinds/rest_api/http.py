"""A REST source's `http:` settings, applied to dlt's HTTP client while its load runs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec


@contextlib.contextmanager
def http_settings(spec: SourceSpec) -> Iterator[None]:
    """Apply the source's `http:` overrides to dlt's HTTP client for the duration of a run."""
    overrides = spec.http.as_dlt_runtime()
    previous = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
