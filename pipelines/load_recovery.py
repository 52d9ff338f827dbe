"""Run-time safety around a dlt load: finish what a killed run left, and per-source HTTP settings.

dagster-dlt drops the pipeline's local state before every run. If a run was killed after dlt
normalized a package (or while loading it), dropping it would lose that data, or, for append
tables, load parts of it twice. So before the new run starts, any pending package is finished
first: dlt resumes it and skips the jobs it already completed. A package killed during extract
was never committed, so nothing of it is pending and the next run extracts again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from pipelines.spec import SourceSpec


def finish_interrupted_load(pipeline: Any) -> list[str]:
    """Normalize and load packages an earlier run left behind; return their load ids."""
    if not pipeline.has_pending_data:
        return []
    pending = list(pipeline.list_extracted_load_packages()) + list(
        pipeline.list_normalized_load_packages()
    )
    pipeline.normalize()
    pipeline.load()
    return pending


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
