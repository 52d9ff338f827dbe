"""A REST source's `http:` settings, applied to dlt's HTTP client while its load runs."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from pipelines.settings import environment

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec


def http_settings(spec: SourceSpec) -> contextlib.AbstractContextManager[None]:
    """Apply the source's `http:` overrides to dlt's HTTP client for the duration of a run."""
    return environment(spec.http.as_dlt_runtime())
