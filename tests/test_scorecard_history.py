"""How `pipelines.scorecard.history` reads runs from a real Dagster instance: load steps found
by key whoever launched them, a run and its automatic retries counted once (a manual
re-execution counts alone), and a run that failed before its step started counted as a failed
load."""

from __future__ import annotations

import pytest
from dagster import (
    AssetKey,
    AssetSpec,
    ConfigurableResource,
    DagsterInstance,
    MaterializeResult,
    materialize,
    multi_asset,
)

from pipelines.scorecard.history import runs_since, step_outcomes


class Switch(ConfigurableResource):
    """What the next run does: load, fail in the step, or fail before the step starts."""

    mode: str = "load"

    def setup_for_execution(self, context) -> None:
        if self.mode == "fail_at_start":
            raise RuntimeError("the worker died while starting")


@multi_asset(name="tiny__load", specs=[AssetSpec(AssetKey(["tiny", "rows"]))])
def tiny_load(switch: Switch):
    if switch.mode == "fail":
        raise RuntimeError("the export is broken")
    yield MaterializeResult(asset_key=AssetKey(["tiny", "rows"]))


@multi_asset(name="other__load", specs=[AssetSpec(AssetKey(["other", "rows"]))])
def other_load():
    yield MaterializeResult(asset_key=AssetKey(["other", "rows"]))


def run(instance, mode: str, tags: dict[str, str] | None = None, assets=(tiny_load,)):
    result = materialize(
        list(assets),
        instance=instance,
        resources={"switch": Switch(mode=mode)},
        raise_on_error=False,
        tags=tags or {},
    )
    return result.run_id


@pytest.fixture(scope="module")
def outcomes():
    with DagsterInstance.ephemeral() as instance:
        first = run(instance, "load")
        failed = run(instance, "fail")
        # the retry daemon's re-run of the failed run: same root, succeeds
        retry = {"dagster/root_run_id": failed, "dagster/parent_run_id": failed}
        run(instance, "load", tags={**retry, "dagster/retry_number": "1"})
        # a person re-executing the first run later: a load of its own
        run(instance, "load", tags={"dagster/root_run_id": first, "dagster/parent_run_id": first})
        dead = run(instance, "fail_at_start")
        run(instance, "load", assets=(other_load,))
        runs = runs_since(instance, 0)
        yield {
            "all": step_outcomes(instance, runs),
            "tiny": step_outcomes(instance, runs, {"tiny__load"}),
            "ids": (first, failed, dead),
        }


def test_a_run_and_its_retry_count_once_as_the_retry_ended(outcomes) -> None:
    first, failed, _ = outcomes["ids"]
    steps = outcomes["tiny"]["tiny__load"]
    assert [s.succeeded for s in steps] == [True, True, True, False]
    assert steps[0].run_id == first
    assert steps[1].run_id != failed  # the retry's outcome
    assert steps[2].run_id not in (first, failed)  # the manual re-execution, counted alone
    assert steps[1].started < steps[1].ended


def test_a_run_that_failed_before_its_step_started_is_a_failed_load(outcomes) -> None:
    *_, dead = outcomes["ids"]
    last = outcomes["tiny"]["tiny__load"][-1]
    assert (last.run_id, last.succeeded) == (dead, False)


def test_only_the_asked_steps_are_read(outcomes) -> None:
    assert set(outcomes["tiny"]) == {"tiny__load"}
    assert set(outcomes["all"]) == {"tiny__load", "other__load"}
    assert outcomes["all"]["tiny__load"] == outcomes["tiny"]["tiny__load"]
