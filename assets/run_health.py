"""A sensor that releases what dead runs hold, so `make dev`'s daemon never waits on them.

Run monitoring cannot see a `sourcegate run` process that died (it is no run worker the daemon
launched), and Dagster frees the slots only of runs that ended. Without this sensor, a CLI run
killed while it held the warehouse would block every scheduled and UI-launched run until the
next `sourcegate run` or `sourcegate status --repair`.
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from pipelines.runtime.dead_runs import release_dead_runs

CHECK_EVERY_SECONDS = 30


@sensor(
    name="sourcegate_release_dead_runs",
    minimum_interval_seconds=CHECK_EVERY_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died as failed and frees the warehouse slots they hold.",
)
def release_dead_runs_sensor(context: SensorEvaluationContext) -> SkipReason:
    """Release dead runs; the skip reason says what was done."""
    actions = release_dead_runs(context.instance)
    for action in actions:
        context.log.warning(action)
    return SkipReason("; ".join(actions) or "no dead run holds anything")
