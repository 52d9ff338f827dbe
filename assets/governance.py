"""`governance/scorecard`: the scorecard of every source as a Dagster asset, built daily.

Its metadata holds the table the terminal shows and the path of the HTML page; its check
fails when a production source has been past its freshness SLA for more than a day.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
)

from pipelines.settings import reports_dir
from pipelines.spec.registry import LoadedSource

SCORECARD_KEY = AssetKey(["governance", "scorecard"])
SLA_CHECK = "production_freshness_sla"
LATE_DAYS = 1.0  # a production source this far past its freshness SLA fails the check
SCORECARD_CRON = "0 8 * * *"


def build_scorecard_asset(sources: list[LoadedSource]) -> AssetsDefinition:
    """The daily scorecard of ``sources``."""

    @asset(
        key=SCORECARD_KEY,
        group_name="governance",
        description="How every source is doing: freshness, volume, schema changes, checks, "
        "runs and time to integrate, graded A-F (`sourcegate scorecard`).",
        kinds={"python"},
        check_specs=[
            AssetCheckSpec(
                SLA_CHECK,
                asset=SCORECARD_KEY,
                description=f"no production source is more than {LATE_DAYS:g} day past its "
                "freshness SLA",
            )
        ],
    )
    def scorecard(context: AssetExecutionContext) -> Iterator[Any]:
        from pipelines.scorecard.compute import build_scorecard
        from pipelines.scorecard.html import write_html
        from pipelines.scorecard.text import render_text

        card = build_scorecard(context.instance, sources, progress=context.log.info)
        path = write_html(card, reports_dir() / "scorecard.html")
        late = late_production_sources(card)
        yield MaterializeResult(
            metadata={
                "scorecard": MetadataValue.md(f"```\n{render_text(card)}\n```"),
                "html": MetadataValue.path(str(path)),
                "grades": MetadataValue.json({c.name: c.grade for c in card.sources}),
                "window_days": MetadataValue.float(card.window_days),
            }
        )
        yield AssetCheckResult(
            check_name=SLA_CHECK,
            passed=not late,
            severity=AssetCheckSeverity.ERROR,
            metadata={"late_sources": MetadataValue.json(late)},
            description="; ".join(_lateness(name, hours) for name, hours in late.items())
            or "every production source is within a day of its freshness SLA",
        )

    return scorecard


def late_production_sources(card: Any) -> dict[str, float | str]:
    """Production sources more than `LATE_DAYS` past their freshness SLA, with the hours. A
    source that never loaded is late since its promotion (from git history); without git
    history nobody knows since when, and it is reported as never loaded: fail closed."""
    late: dict[str, float | str] = {}
    for source in card.sources:
        if source.stage != "production":
            continue
        stale = source.freshness.stale_hours
        if stale is None and source.never_loaded:
            late[source.name] = "never loaded"  # and git cannot say since when
        elif stale is not None and stale > LATE_DAYS * 24:
            late[source.name] = round(stale, 2)
    return late


def _lateness(name: str, hours: float | str) -> str:
    return f"{name}: {hours}" if isinstance(hours, str) else f"{name}: {hours:.1f} h past its SLA"


def scorecard_schedule() -> ScheduleDefinition:
    """Build the scorecard every morning (UTC)."""
    return ScheduleDefinition(
        name="governance_scorecard_schedule",
        target=[SCORECARD_KEY],
        cron_schedule=SCORECARD_CRON,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
    )
