"""What a scorecard holds: plain records, filled by `pipelines.scorecard.compute` from the
Dagster instance and git, and read by the terminal table, the HTML page and the Dagster asset.

Times are Unix timestamps (seconds, UTC); durations are hours unless a name says otherwise.
Scores run from 0 to 100; ``None`` means "no data to judge by", never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_WINDOW_DAYS = 30.0
DIMENSIONS = ("freshness", "volume", "schema", "quality", "reliability")
QUALITY_DIMENSIONS = ("completeness", "uniqueness", "validity", "consistency")


@dataclass(frozen=True)
class LoadPoint:
    """One successful load of one table: when, how many rows, and whether that is an anomaly."""

    table: str
    at: float
    rows: int
    anomaly: bool = False
    z_score: float | None = None


@dataclass(frozen=True)
class RunPoint:
    """One run of a source's load step: when it started, how long it took, how it ended, and
    the share of its check evaluations that passed (``None`` when no check ran)."""

    run_id: str
    started: float
    duration_seconds: float
    succeeded: bool
    check_pass_rate: float | None


@dataclass(frozen=True)
class SchemaChange:
    """A load that added or retyped columns of an existing table."""

    table: str
    at: float
    summary: str


@dataclass(frozen=True)
class Freshness:
    """How fresh the source's tables were: stale whenever any table was, lag of the stalest."""

    freshness_hours: float | None
    share_fresh: float | None  # 0..1 of the window (since the first load) with every table fresh
    lag_hours: float | None  # now - the last successful load of the stalest table
    last_success: float | None
    stale_hours: float | None  # how long past freshness_hours it is now (0 when fresh)


@dataclass(frozen=True)
class Quality:
    """Check evaluations in the window, scored pass = 100, warn = 50, fail = 0, by dimension."""

    by_dimension: dict[str, float]  # dimension -> mean score, only dimensions with evaluations
    evaluations: dict[str, int]  # dimension -> number of evaluations
    score: float | None  # mean over every evaluation


@dataclass(frozen=True)
class Reliability:
    """Load steps in the window and how quickly the source recovered from failures."""

    runs: int
    succeeded: int
    success_rate: float | None  # 0..1
    mttr_hours: float | None  # mean time from a first failure to the next success
    failing_since: float | None  # the first failure of a streak not yet recovered


@dataclass(frozen=True)
class Integration:
    """Time to integrate, from git history and the instance (``None`` where unknown)."""

    added_at: float | None  # the commit that added the source file
    first_load_at: float | None  # its first successful load
    promoted_at: float | None  # the first commit where stage was production
    changed_at: float | None  # the last commit that changed the file
    first_load_after_change_at: float | None
    note: str = ""  # why some of it is unknown (no git history, never loaded, ...)

    @property
    def hours_to_first_load(self) -> float | None:
        """From the commit that added the file to its first successful load."""
        return _hours_between(self.added_at, self.first_load_at)

    @property
    def hours_to_promotion(self) -> float | None:
        """From the first successful load to the promotion to production (0 for a source that
        was production before it first loaded)."""
        hours = _hours_between(self.first_load_at, self.promoted_at)
        return None if hours is None else max(0.0, hours)

    @property
    def hours_change_to_load(self) -> float | None:
        """From the last change of the file to its first successful load after it."""
        return _hours_between(self.changed_at, self.first_load_after_change_at)


@dataclass(frozen=True)
class TableNumbers:
    """The numbers of one table of a source (the source's are those of its worst table)."""

    table: str
    share_fresh: float | None
    lag_hours: float | None
    loads: int
    last_rows: int | None
    anomalies: int
    schema_changes: int
    quality: float | None


@dataclass
class SourceCard:
    """Everything the scorecard says about one source."""

    name: str
    stage: str
    owner: str
    freshness: Freshness
    quality: Quality
    reliability: Reliability
    integration: Integration
    loads: list[LoadPoint] = field(default_factory=list)
    runs: list[RunPoint] = field(default_factory=list)
    schema_changes: list[SchemaChange] = field(default_factory=list)
    tables: list[TableNumbers] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)  # DIMENSIONS -> score
    total: float | None = None
    grade: str = "-"  # A-F, or "-" when nothing could be judged
    worst: str | None = None  # the dimension with the lowest score

    @property
    def anomalies(self) -> list[LoadPoint]:
        """Loads flagged as volume anomalies."""
        return [load for load in self.loads if load.anomaly]

    @property
    def never_loaded(self) -> bool:
        """No successful load, in the window or before it."""
        return self.freshness.last_success is None and not self.loads

    @property
    def called_out(self) -> bool:
        """A production source graded below C."""
        return self.stage == "production" and self.grade in ("D", "F")


@dataclass
class Scorecard:
    """The scorecard of every source over one window."""

    generated_at: float
    window_days: float
    sources: list[SourceCard]


def _hours_between(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / 3600
