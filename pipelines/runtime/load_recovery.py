"""Run-time safety around a dlt load: finish what a killed run left, and per-source HTTP settings.

dagster-dlt drops the pipeline's local state before every run. If a run was killed after dlt
normalized a package (or while loading it), dropping it would lose that data, or, for append
tables, load parts of it twice. So before the new run starts, any normalized package is
finished first: dlt resumes it and skips the jobs it already completed. A package killed during
extract was never committed, so nothing of it is pending and the next run extracts again.
An extracted package is finished only if it passed the PII check (`pipelines.runtime.load`
marks it); one left by a run killed before the check is dropped, never loaded unchecked, and the
next run extracts again.

Only a package left by a crash (or by a transient failure) can be finished this way. One whose
replay fails for good, such as a package an older version left after a contract violation, is
dropped and reported, and the run goes on to extract fresh data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.runtime.failed_packages import DroppedPackage, abort_failed_packages
from pipelines.runtime.failures import explain_load_failure, is_transient
from pipelines.runtime.load import checked_packages
from pipelines.spec.models import SourceSpec

UNCHECKED_REASON = "an earlier run stopped after extracting it, before its PII check"


@dataclass(frozen=True)
class Recovery:
    """What happened to the packages an earlier run left: finished, or dropped with a reason."""

    finished: list[str] = field(default_factory=list)
    dropped: list[DroppedPackage] = field(default_factory=list)


def finish_interrupted_load(pipeline: Any, spec: SourceSpec) -> Recovery:
    """Normalize and load packages an earlier run left behind; drop those that cannot load.

    Raises:
        Exception: the replay's error when it is transient (the package is kept for a resume).
    """
    if not pipeline.has_pending_data:
        return Recovery()
    normalized = list(pipeline.list_normalized_load_packages())
    extracted = sorted(pipeline.list_extracted_load_packages())
    unchecked = set(extracted) - set(checked_packages(pipeline))
    try:
        # Load what is normalized first: a package that fails to normalize must not take an
        # older, loadable one down with it when it is dropped.
        if normalized:
            pipeline.load()
        if unchecked:
            # No package is being loaded now: this deletes every extracted package (one, in
            # practice) and rewinds local state to before them; the run extracts again.
            pipeline.abort_packages()
            return Recovery(normalized, [DroppedPackage(i, UNCHECKED_REASON) for i in extracted])
        pipeline.normalize()
        pipeline.load()
    except Exception as exc:
        if is_transient(exc):
            raise
        failed = abort_failed_packages(pipeline, explain_load_failure(exc, spec, values=False))
        gone = {package.load_id for package in failed}
        pending = [i for i in normalized + extracted if i not in gone]
        return Recovery(pending, failed)
    return Recovery(normalized + extracted)
