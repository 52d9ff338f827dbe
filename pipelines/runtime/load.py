"""One load of one source: dlt's `pipeline.run`, taken step by step to check PII in between.

`pipeline.run` extracts, normalizes and loads in one call. Here the PII report of the extracted
package (`pipelines.governance.pii`) is read before anything is normalized: when it blocks,
the package is dropped and nothing reaches the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.governance.pii import PiiGuard, PiiRefusedError, PiiReport
from pipelines.runtime.extract_ahead import ExtractedAhead, adopt
from pipelines.spec.models import SourceSpec

CHECKED_PACKAGES = "sourcegate_pii_checked_packages"


@dataclass
class LoadOutcome:
    """What one load did: dlt's load info and what the PII step found."""

    load_info: Any
    pii: PiiReport


def extract_checked(pipeline: Any, source: Any, spec: SourceSpec, guard: PiiGuard) -> PiiReport:
    """Extract ``source`` into a load package, then refuse it if ``guard``'s report blocks.

    ``guard`` is the PII step `build_source` attached (`pii_guard(source)` before any
    `with_resources`, which clones the source).

    Raises:
        PiiRefusedError: a rule matched no column, or (production) a personal column has no
            rule. The extracted package is aborted first, so nothing of it loads.
    """
    extracted = pipeline.extract(source, schema_contract=spec.schema_contract())
    report = guard.report()
    blocking = report.blocking(spec.stage)
    if blocking:
        pipeline.abort_packages()  # deletes the package and rewinds local state to before it
        raise PiiRefusedError(blocking)
    mark_checked(pipeline, extracted.loads_ids)
    return report


def mark_checked(pipeline: Any, load_ids: list[str]) -> None:
    """Remember that these extracted packages passed the PII check (in local pipeline state).

    A run killed before normalizing them leaves them pending; the next run finishes only
    packages marked so (`pipelines.runtime.load_recovery`).
    """
    pipeline.set_local_state_val(CHECKED_PACKAGES, [*checked_packages(pipeline), *load_ids])


def checked_packages(pipeline: Any) -> list[str]:
    """Load ids of extracted packages that passed the PII check."""
    try:
        return list(pipeline.get_local_state_val(CHECKED_PACKAGES))
    except KeyError:
        return []


def restore_for_load(pipeline: Any, ahead: ExtractedAhead | None = None) -> tuple[Any, bool]:
    """Drop local state and restore it from the warehouse (as dagster-dlt does), so a failed
    earlier run cannot leave a stale cursor or package behind.

    A package ``ahead`` from that same warehouse state is adopted (`runtime.extract_ahead`).
    Returns the pipeline to load with (a new object when it adopted) and whether it did.
    """
    if not pipeline.config.restore_from_destination:
        pipeline.abort_packages()
        return pipeline, False
    pipeline.drop()
    pipeline.sync_destination()
    adopted = adopt(pipeline, ahead)
    return (pipeline, False) if adopted is None else (adopted, True)


def load_source(
    pipeline: Any,
    source: Any,
    spec: SourceSpec,
    guard: PiiGuard,
    ahead: ExtractedAhead | None = None,
) -> LoadOutcome:
    """Extract, check PII, normalize and load ``source``; raise if any load job failed.

    Call `restore_for_load` first. When it adopted ``ahead``, the package is extracted
    and checked already: it is normalized and loaded, with the PII report of its extract.
    """
    report = ahead.pii if ahead else extract_checked(pipeline, source, spec, guard)
    pipeline.normalize()
    load_info = pipeline.load()
    load_info.raise_on_failed_jobs()
    return LoadOutcome(load_info, report)


def forget_trace(pipeline: Any) -> None:
    """Delete dlt's trace of the last run: a failure's text in it may quote a URL or a body."""
    from dlt.pipeline.trace import TRACE_FILE_NAME

    (Path(pipeline.working_dir) / TRACE_FILE_NAME).unlink(missing_ok=True)
