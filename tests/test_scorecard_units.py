"""The scorecard's pure pieces, each number computed by hand: freshness, volume, quality,
reliability and schema metrics, the grade, git milestones (real `git` in a temporary folder)
and the terminal text. Fast: no Dagster instance, no `sourcegate run`.

Times are built from `T0` (2026-11-01 00:00 UTC) plus hours, so each expected number can be
checked on paper against docs/scorecard.md.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.scorecard import grading, metrics
from pipelines.scorecard.git_history import FileHistory, file_history
from pipelines.scorecard.history import CheckEvaluation, Materialization, StepOutcome
from pipelines.scorecard.metrics import MIN_TRAINING_LOADS, _share_fresh_tables
from pipelines.scorecard.model import (
    QUALITY_DIMENSIONS,
    Freshness,
    Integration,
    LoadPoint,
    Quality,
    Reliability,
    SchemaChange,
    Scorecard,
    SourceCard,
)
from pipelines.scorecard.text import render_text

H = 3600.0


def at(text: str) -> float:
    """'2026-11-01 08:00' (UTC) as a Unix time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


T0 = at("2026-11-01 00:00")


def h(hours: float) -> float:
    """`T0` plus ``hours``."""
    return T0 + hours * H


def load(
    table: str, hours: float, rows: int | None = 100, change: dict | None = None, summary: str = ""
) -> Materialization:
    return Materialization(table, h(hours), rows, change or {}, summary)


def loads_at(table: str, *hours: float) -> list[Materialization]:
    return [load(table, x) for x in hours]


def fresh(
    tables: list[str],
    loads: list[Materialization],
    earlier: list[Materialization] = (),
    freshness_hours: float | None = 10,
    since: float = 0,
    now: float = 100,
    first_load_at: float | None = 0,
    added_at: float | None = -24,
) -> Freshness:
    """`metrics.freshness` with every time given in hours after `T0`."""
    return metrics.freshness(
        tables,
        loads,
        list(earlier),
        freshness_hours,
        h(since),
        h(now),
        None if first_load_at is None else h(first_load_at),
        None if added_at is None else h(added_at),
    )


# ---------------------------------------------------------------------------------------------
# freshness


def test_share_fresh_counts_gaps_longer_than_the_sla():
    # loads at 0, 5, 30, 35, 80 h; SLA 10 h; window [0, 100] h.
    # stale: 15-30 (15 h), 45-80 (35 h), 90-100 (10 h) = 60 h of 100 -> 40 % fresh
    times = [h(x) for x in (0, 5, 30, 35, 80)]
    assert _share_fresh_tables([times], 10 * H, h(0), h(100)) == pytest.approx(0.4)


def test_share_fresh_edges():
    # a load 5 h before the start is fresh until 5 h into a 10 h window
    assert _share_fresh_tables([[h(-5)]], 10 * H, h(0), h(10)) == pytest.approx(0.5)
    # nothing loaded until 4 h into the window: stale until then
    assert _share_fresh_tables([[h(4)]], 10 * H, h(0), h(10)) == pytest.approx(0.6)
    # nothing loaded at all: never fresh
    assert _share_fresh_tables([[]], 10 * H, h(0), h(10)) == 0.0
    # an empty interval
    assert _share_fresh_tables([[h(0)]], 10 * H, h(5), h(5)) == 1.0
    assert _share_fresh_tables([[]], 10 * H, h(5), h(5)) == 0.0


def test_freshness_of_a_table_with_gaps_longer_than_the_sla():
    result = fresh(["orders"], loads_at("orders", 0, 5, 30, 35, 80))
    # stale 15-30, 45-80, 90-100 = 60 h of 100; newest load 20 h old, 10 h past the SLA
    assert result == Freshness(
        freshness_hours=10,
        share_fresh=pytest.approx(0.4),
        lag_hours=pytest.approx(20.0),
        last_success=h(80),
        stale_hours=pytest.approx(10.0),
    )


def test_freshness_counts_from_the_first_load_not_the_window_start():
    # the window opens 50 h before the first load: those 50 h are time to integrate
    result = fresh(["orders"], loads_at("orders", 0, 5, 30, 35, 80), since=-50, added_at=-60)
    assert result.share_fresh == pytest.approx(0.4)


def test_freshness_window_starting_after_the_first_load_uses_the_load_before_it():
    # first load 50 h before the window; the last load before it, at -4 h, is fresh until 6 h.
    # stale 6-20 (14 h) and 30-50 (20 h) = 34 h of 50 -> 0.32
    earlier = [*loads_at("orders", -50, -4), load("customers", -1)]
    result = fresh(
        ["orders"], loads_at("orders", 20), earlier, now=50, first_load_at=-50, added_at=-60
    )
    assert result.share_fresh == pytest.approx(1 - 34 / 50)
    assert result.lag_hours == pytest.approx(30.0)
    assert result.stale_hours == pytest.approx(20.0)
    assert result.last_success == h(20)


def test_freshness_window_starting_when_already_stale():
    # the last load before the window (at -30 h) was already stale at the window start:
    # stale 0-20 (20 h) and 30-50 (20 h) = 40 h of 50 -> 0.2
    earlier = loads_at("orders", -50, -30)
    result = fresh(
        ["orders"], loads_at("orders", 20), earlier, now=50, first_load_at=-50, added_at=-60
    )
    assert result.share_fresh == pytest.approx(0.2)


def test_freshness_with_no_load_in_the_window_reads_the_one_before_it():
    # last load at -4 h: fresh until 6 h, stale 6-40 (34 h of 40)
    result = fresh(["orders"], [], loads_at("orders", -4), now=40, first_load_at=-50)
    assert result.share_fresh == pytest.approx(1 - 34 / 40)
    assert result.lag_hours == pytest.approx(44.0)
    assert result.stale_hours == pytest.approx(34.0)
    assert result.last_success == h(-4)


def test_freshness_the_worst_table_decides():
    # SLA 10 h, window [0, 100] h.
    # orders loads at 0 and 50: stale 10-50 and 60-100 = 80 h -> 0.2
    # customers loads at 0, 15, 45, 55, 90: stale 10-15, 25-45 and 65-90 = 50 h -> 0.5
    # (customers' stale hours fall inside orders', so every reading of "worst" agrees)
    orders = loads_at("orders", 0, 50)
    customers = loads_at("customers", 0, 15, 45, 55, 90)
    both = sorted(orders + customers, key=lambda m: m.at)
    assert fresh(["orders"], orders).share_fresh == pytest.approx(0.2)
    assert fresh(["customers"], customers).share_fresh == pytest.approx(0.5)
    result = fresh(["orders", "customers"], both)
    assert result.share_fresh == pytest.approx(0.2)
    assert result.lag_hours == pytest.approx(50.0)  # orders, the stalest table
    assert result.stale_hours == pytest.approx(40.0)
    assert result.last_success == h(90)  # the newest load of any table


def test_freshness_share_is_the_time_when_every_table_was_fresh():
    # SLA 10 h, window [0, 100] h.
    # orders loads at 0, 40, 50, 60, 70, 80, 90: stale 10-40 (30 h) -> 0.7 on its own
    # customers loads at 0, 10, ..., 60, 90: stale 70-90 (20 h) -> 0.8 on its own
    # some table was stale 10-40 and 70-90 = 50 h, so every table was fresh 50 % of the time
    orders = loads_at("orders", 0, 40, 50, 60, 70, 80, 90)
    customers = loads_at("customers", 0, 10, 20, 30, 40, 50, 60, 90)
    both = sorted(orders + customers, key=lambda m: m.at)
    assert fresh(["orders"], orders).share_fresh == pytest.approx(0.7)
    assert fresh(["customers"], customers).share_fresh == pytest.approx(0.8)
    assert fresh(["orders", "customers"], both).share_fresh == pytest.approx(0.5)


def test_freshness_without_an_sla_has_no_share_but_a_lag():
    result = fresh(["orders"], loads_at("orders", 0, 30), freshness_hours=None, now=40)
    assert result == Freshness(None, None, pytest.approx(10.0), h(30), None)


def test_freshness_lag_waits_for_every_table():
    # one table never loaded: no lag to tell, and that table was never fresh
    result = fresh(["orders", "customers"], loads_at("orders", 0, 95))
    assert result.lag_hours is None
    assert result.share_fresh == 0.0
    assert result.last_success == h(95)


def test_freshness_of_a_source_never_loaded():
    # added 100 h ago, SLA 26 h: 74 h past its SLA
    result = fresh(["orders"], [], freshness_hours=26, first_load_at=None, added_at=0)
    assert result == Freshness(26, None, None, None, pytest.approx(74.0))
    # added 10 h ago: not past its SLA yet
    recent = fresh(["orders"], [], freshness_hours=26, first_load_at=None, added_at=90)
    assert recent.stale_hours == 0.0
    # no git history: unknown
    unknown = fresh(["orders"], [], freshness_hours=26, first_load_at=None, added_at=None)
    assert unknown == Freshness(26, None, None, None, None)


# ---------------------------------------------------------------------------------------------
# volume


def test_volume_needs_min_training_loads_before_judging():
    assert MIN_TRAINING_LOADS == 5
    # 3 loads before the window and 3 in it: the window's first two have 3 and 4 earlier
    # loads (not judged), the third has 5 (judged; same size as all of them: z = 0)
    earlier = [load("orders", x, 100) for x in (-72, -48, -24)]
    window = [load("orders", x, 100) for x in (0, 24, 48)]
    points = metrics.volume(window, earlier)
    assert [p.z_score for p in points] == [None, None, 0.0]
    assert not any(p.anomaly for p in points)
    assert metrics.judged_loads(points) == [points[2]]


def test_volume_needs_min_training_loads_even_for_a_huge_load():
    # four loads of 100, then a million rows: only four earlier loads, so not judged
    window = [load("orders", x, 100) for x in range(4)] + [load("orders", 5, 1_000_000)]
    points = metrics.volume(window, [])
    assert [p.z_score for p in points] == [None] * 5
    assert not any(p.anomaly for p in points)


def test_volume_flags_a_three_sigma_outlier_with_its_z_score():
    # previous 90, 110, 90, 110, 100: mean 100, sample stdev sqrt(400 / 4) = 10
    earlier = [load("orders", i, rows) for i, rows in enumerate((90, 110, 90, 110, 100))]
    high = metrics.volume([load("orders", 10, 131)], earlier)
    assert high == [LoadPoint("orders", h(10), 131, True, pytest.approx(3.1))]
    low = metrics.volume([load("orders", 10, 69)], earlier)
    assert low == [LoadPoint("orders", h(10), 69, True, pytest.approx(-3.1))]


def test_volume_does_not_flag_a_load_just_under_three_sigma():
    earlier = [load("orders", i, rows) for i, rows in enumerate((90, 110, 90, 110, 100))]
    (under,) = metrics.volume([load("orders", 10, 129)], earlier)
    assert under.z_score == pytest.approx(2.9)
    assert not under.anomaly
    (edge,) = metrics.volume([load("orders", 10, 130)], earlier)
    assert edge.z_score == pytest.approx(3.0)
    assert not edge.anomaly  # "more than 3 standard deviations"


def test_volume_constant_history_has_a_spread_of_one_row():
    # six loads of 100: no spread, so one row stands in for it and z stays finite
    earlier = [load("orders", i, 100) for i in range(6)]
    same, near, far, empty = (
        metrics.volume([load("orders", 10, rows)], earlier)[0] for rows in (100, 103, 104, 0)
    )
    assert (same.z_score, same.anomaly) == (0.0, False)
    assert (near.z_score, near.anomaly) == (3.0, False)
    assert (far.z_score, far.anomaly) == (4.0, True)
    assert (empty.z_score, empty.anomaly) == (-100.0, True)


def test_an_incremental_source_waking_up_is_finite_on_the_page():
    import json

    from pipelines.scorecard.html import render_html

    # five loads of 0 new rows, then 100: an anomaly with z = 100, which JSON can carry
    window = [load("orders", i, 0) for i in range(5)] + [load("orders", 5, 100)]
    points = metrics.volume(window, [])
    assert (points[-1].z_score, points[-1].anomaly) == (100.0, True)
    card = SourceCard(
        name="orders",
        stage="pilot",
        owner="team:x",
        freshness=Freshness(None, None, None, None, None),
        quality=Quality({}, {}, None),
        reliability=Reliability(0, 0, None, None, None),
        integration=Integration(None, None, None, None, None),
        loads=points,
    )
    page = render_html(Scorecard(generated_at=h(10), window_days=30, sources=[card]))
    specs = page.split('id="chart-specs">')[1].split("</script>")[0]
    json.loads(specs, parse_constant=lambda name: pytest.fail(f"{name} in the chart data"))


def test_volume_compares_with_the_previous_fourteen_loads_only():
    # six old loads swing wildly (0 and 1,000), then 14 loads alternate 99 and 101.
    # the last 14: mean 100, sample stdev sqrt(14 / 13) = 1.0377 -> 110 lies 9.64 sigma out.
    # counting all 20 would give a stdev of about 260 and no anomaly.
    old = [0, 1000, 0, 1000, 0, 1000]
    recent = [99, 101] * 7
    earlier = [load("orders", i, rows) for i, rows in enumerate(old + recent)]
    (point,) = metrics.volume([load("orders", 30, 110)], earlier)
    assert point.z_score == pytest.approx(10 / (14 / 13) ** 0.5)
    assert point.anomaly
    # the same load judged against all 20 would not be flagged
    everything = metrics._z_score(110, old + recent)
    assert abs(everything) < 3


def test_volume_window_loads_become_history_of_the_next_ones():
    # 5 loads of 100 in the window, then 1,000 (flagged), then 100 again:
    # the history now holds 100 x 5 and 1,000: mean 250, sample stdev
    # sqrt((750^2 + 5 * 150^2) / 5) = sqrt(135000) = 367.42, so z = -150 / 367.42 = -0.408
    window = [load("orders", i, 100) for i in range(5)]
    window += [load("orders", 5, 1000), load("orders", 6, 100)]
    points = metrics.volume(window, [])
    assert [p.anomaly for p in points] == [False] * 5 + [True, False]
    assert points[6].z_score == pytest.approx(-150 / 135000**0.5)


def test_volume_judges_each_table_on_its_own_history():
    # orders always 100 rows, customers always 1,000, interleaved; then both load 1,000:
    # an anomaly for orders (constant 100 before: spread of one row, z = 900), normal for
    # customers (z = 0)
    window = []
    for day in range(5):
        window += [load("orders", 24 * day, 100), load("customers", 24 * day + 1, 1000)]
    window += [load("orders", 120, 1000), load("customers", 121, 1000), load("refunds", 122, 5)]
    points = metrics.volume(window, [])
    last = {p.table: p for p in points[-3:]}
    assert (last["orders"].z_score, last["orders"].anomaly) == (900.0, True)
    assert (last["customers"].z_score, last["customers"].anomaly) == (0.0, False)
    assert (last["refunds"].z_score, last["refunds"].anomaly) == (None, False)


def test_volume_skips_loads_without_a_row_count():
    earlier = [load("orders", i, 100) for i in range(5)] + [load("orders", 5, None)]
    points = metrics.volume([load("orders", 6, None), load("orders", 7, 100)], earlier)
    assert [(p.at, p.z_score) for p in points] == [(h(7), 0.0)]


# ---------------------------------------------------------------------------------------------
# quality


def evaluation(expect: str, passed: bool, severity: str = "error", table: str = "orders"):
    return CheckEvaluation(table, f"{expect}__x", expect, "run-1", h(0), passed, severity)


def test_every_kind_of_check_has_a_quality_dimension():
    from typing import get_args

    from pipelines.spec import checks

    expects = {
        get_args(model.model_fields["expect"].annotation)[0]
        for model in vars(checks).values()
        if isinstance(model, type) and "expect" in getattr(model, "model_fields", {})
    }
    assert expects and set(metrics.CHECK_DIMENSIONS) == expects
    assert set(metrics.CHECK_DIMENSIONS.values()) == set(QUALITY_DIMENSIONS)


def test_evaluation_scores():
    assert metrics.evaluation_score(evaluation("not_null", True)) == 100
    assert metrics.evaluation_score(evaluation("not_null", True, "warn")) == 100
    assert metrics.evaluation_score(evaluation("not_null", False, "warn")) == 50
    assert metrics.evaluation_score(evaluation("not_null", False, "error")) == 0


def test_quality_by_dimension_and_overall():
    evaluations = [
        evaluation("not_null", True),  # completeness 100
        evaluation("not_null", False, "warn"),  # completeness 50
        evaluation("unique", False, "error"),  # uniqueness 0
        evaluation("unique_combination", True),  # uniqueness 100
        evaluation("match_regex", True),  # validity 100
        evaluation("between", False, "warn"),  # validity 50
        evaluation("in_set", True),  # validity 100
        evaluation("references", False, "error"),  # consistency 0
        evaluation("row_count_between", True),  # consistency 100
    ]
    result = metrics.quality(evaluations)
    assert result.by_dimension == {
        "completeness": 75.0,
        "uniqueness": 50.0,
        "validity": pytest.approx(250 / 3),
        "consistency": 50.0,
    }
    assert result.evaluations == {
        "completeness": 2,
        "uniqueness": 2,
        "validity": 3,
        "consistency": 2,
    }
    # the mean over all nine evaluations, not over the four dimensions
    assert result.score == pytest.approx(600 / 9)


def test_quality_without_evaluations():
    assert metrics.quality([]) == Quality({}, {}, None)


# ---------------------------------------------------------------------------------------------
# reliability


def step(run: str, started: float, ended: float, succeeded: bool) -> StepOutcome:
    return StepOutcome(run, h(started), h(ended), succeeded)


def test_reliability_mean_time_to_recovery_over_two_streaks():
    steps = [
        step("r1", 0, 0.5, True),
        step("r2", 24, 24.5, False),  # streak 1 starts failing at 24.5
        step("r3", 30, 30.5, False),
        step("r4", 36, 37, True),  # recovered: 37 - 24.5 = 12.5 h
        step("r5", 48, 48.25, False),  # streak 2 starts failing at 48.25
        step("r6", 50, 51.25, True),  # recovered: 51.25 - 48.25 = 3 h
    ]
    result = metrics.reliability(list(reversed(steps)))  # order by start, whatever the input
    assert result == Reliability(
        runs=6,
        succeeded=3,
        success_rate=0.5,
        mttr_hours=pytest.approx((12.5 + 3) / 2),
        failing_since=None,
    )


def test_reliability_open_streak_is_failing_since_its_first_failure():
    steps = [
        step("r1", 0, 0.5, True),
        step("r2", 10, 11, False),
        step("r3", 12, 14, True),  # recovered in 3 h
        step("r4", 24, 24.5, False),  # still failing from here on
        step("r5", 48, 48.5, False),
    ]
    result = metrics.reliability(steps)
    assert result == Reliability(5, 2, 0.4, pytest.approx(3.0), h(24.5))


def test_reliability_all_successes_and_nothing_run():
    steps = [step(f"r{i}", 24 * i, 24 * i + 1, True) for i in range(3)]
    assert metrics.reliability(steps) == Reliability(3, 3, 1.0, None, None)
    assert metrics.reliability([]) == Reliability(0, 0, None, None, None)


# ---------------------------------------------------------------------------------------------
# schema changes


def test_schema_changes_counts_added_and_retyped_columns_of_existing_tables():
    created = {"new_table": True, "added": {"id": "bigint", "amount": "bigint"}, "changed": {}}
    nothing = {"new_table": False, "added": {}, "changed": {}}
    added = {"new_table": False, "added": {"coupon": "varchar"}, "changed": {}}
    retyped = {"new_table": False, "added": {}, "changed": {"amount": "bigint -> double"}}
    loads = [
        load("orders", 0, change=created, summary="new table with 2 columns"),
        load("customers", 0.5, change=dict(created), summary="new table with 2 columns"),
        load("orders", 24, change=nothing, summary="no column changes"),
        load("orders", 48, change=added, summary="added coupon (varchar)"),
        load("orders", 72, change={}),  # no metadata at all
        load("orders", 96, change=retyped, summary="type changed amount: bigint -> double"),
    ]
    assert metrics.schema_changes(loads) == [
        SchemaChange("orders", h(48), "added coupon (varchar)"),
        SchemaChange("orders", h(96), "type changed amount: bigint -> double"),
    ]


# ---------------------------------------------------------------------------------------------
# grading


def test_weighted_total_with_every_dimension():
    scores = {"freshness": 100, "quality": 50, "reliability": 80, "volume": 100, "schema": 0}
    # 25 + 15 + 20 + 15 + 0 over weights summing to 1
    assert grading.weighted_total(scores) == pytest.approx(75.0)


def test_weighted_total_renormalizes_over_known_dimensions():
    scores = {"freshness": 100, "quality": 50, "reliability": None, "volume": None, "schema": None}
    # (0.25 * 100 + 0.30 * 50) / 0.55
    assert grading.weighted_total(scores) == pytest.approx(40 / 0.55)
    assert grading.weighted_total({"schema": 20.0}) == pytest.approx(20.0)
    assert grading.weighted_total(dict.fromkeys(grading.WEIGHTS)) is None
    assert grading.weighted_total({}) is None


def test_weights_sum_to_one():
    assert grading.WEIGHTS == {
        "freshness": 0.25,
        "quality": 0.30,
        "reliability": 0.25,
        "volume": 0.15,
        "schema": 0.05,
    }
    assert sum(grading.WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        (100.0, "A"),
        (90.0, "A"),
        (89.94, "B"),
        (80.0, "B"),
        (79.94, "C"),
        (70.0, "C"),
        (69.94, "D"),
        (60.0, "D"),
        (59.9, "F"),
        (0.0, "F"),
        (None, "-"),
    ],
)
def test_letter_bands(total, grade):
    assert grading.letter(total) == grade


def test_a_total_is_graded_as_it_is_printed():
    # 89.96 prints as 90.0: an A, so the table never shows 90.0 next to a B
    assert grading.letter(89.96) == "A"


def test_letter_of_a_total_a_rounding_error_below_a_band():
    # 0.25*90 + 0.30*90 + 0.25*90 + 0.15*90 + 0.05*90 may land a hair under 90
    assert grading.letter(grading.weighted_total(dict.fromkeys(grading.WEIGHTS, 90.0))) == "A"


def test_worst_dimension_and_ties():
    assert grading.worst_dimension({"freshness": 90, "quality": 40, "volume": 70}) == "quality"
    # ties go to the first in WEIGHTS order: freshness, quality, reliability, volume, schema
    assert grading.worst_dimension({"volume": 50, "quality": 50, "schema": 80}) == "quality"
    assert grading.worst_dimension({"schema": 10, "volume": 10}) == "volume"
    assert grading.worst_dimension({"schema": 0, "reliability": 0, "freshness": 0}) == "freshness"
    assert grading.worst_dimension({"freshness": None, "schema": 99}) == "schema"
    assert grading.worst_dimension(dict.fromkeys(grading.WEIGHTS)) is None


# ---------------------------------------------------------------------------------------------
# git history (real git in tmp_path)


def source_yaml(stage: str, description: str = "Web orders from the shop's nightly export.") -> str:
    return (
        "name: orders\n"
        f"description: {description}\n"
        "owner: team:ecommerce\n"
        "steward: data-platform@example.com\n"
        "purpose: Daily revenue reporting.\n"
        f"stage: {stage}\n"
        'schedule: "0 8 * * *"\n'
        "freshness_hours: 26\n"
        "files:\n"
        "  bucket_url: data/orders\n"
        '  file_glob: "orders_*.csv"\n'
        "  format: csv\n"
        "  table: orders\n"
    )


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository at tmp_path/repo with a sources/ folder; git is kept from the
    caller's config and from any repository above tmp_path."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    repo = tmp_path / "repo"
    (repo / "sources").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    return repo


def git(repo: Path, *args: str, when: float | None = None) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Grace",
        "GIT_COMMITTER_EMAIL": "grace@example.com",
    }
    if when is not None:
        # authored a week earlier: the milestones must read the committer time
        env["GIT_AUTHOR_DATE"] = f"{int(when - 7 * 86400)} +0000"
        env["GIT_COMMITTER_DATE"] = f"{int(when)} +0000"
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def commit(repo: Path, when: float, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_git_history_added_promoted_and_changed(git_repo: Path):
    path = write(git_repo / "sources" / "orders.yml", source_yaml("pilot"))
    commit(git_repo, at("2026-10-30 10:00"), "add orders")
    write(git_repo / "README.md", "unrelated\n")
    commit(git_repo, at("2026-10-31 10:00"), "unrelated commit")
    write(path, source_yaml("production"))
    commit(git_repo, at("2026-11-03 09:00"), "promote orders")
    write(path, source_yaml("production", "Web orders, nightly."))
    commit(git_repo, at("2026-11-08 12:00"), "describe orders")
    write(git_repo / "README.md", "still unrelated\n")
    commit(git_repo, at("2026-11-09 12:00"), "another unrelated commit")

    assert file_history(path) == FileHistory(
        added_at=at("2026-10-30 10:00"),
        promoted_at=at("2026-11-03 09:00"),
        changed_at=at("2026-11-08 12:00"),
        note="",
    )


def test_git_history_of_a_file_never_promoted(git_repo: Path):
    path = write(git_repo / "sources" / "orders.yml", source_yaml("pilot"))
    commit(git_repo, at("2026-10-30 10:00"), "add orders")
    assert file_history(path) == FileHistory(
        at("2026-10-30 10:00"), None, at("2026-10-30 10:00"), ""
    )


def test_git_history_follows_a_rename(git_repo: Path):
    old = write(git_repo / "sources" / "shop_orders.yml", source_yaml("pilot"))
    commit(git_repo, at("2026-10-30 10:00"), "add shop_orders")
    write(old, source_yaml("production"))
    commit(git_repo, at("2026-11-03 09:00"), "promote")
    (git_repo / "sources" / "web").mkdir()
    git(git_repo, "mv", "sources/shop_orders.yml", "sources/web/orders.yml")
    commit(git_repo, at("2026-11-05 09:00"), "rename")

    history = file_history(git_repo / "sources" / "web" / "orders.yml")
    assert history == FileHistory(
        added_at=at("2026-10-30 10:00"),  # the clock did not restart at the rename
        promoted_at=at("2026-11-03 09:00"),  # read from the file under its old name
        changed_at=at("2026-11-05 09:00"),
        note="",
    )


def test_git_history_of_a_copy_starts_at_the_copy(git_repo: Path):
    # `sourcegate new` copies a template; `--follow` would take the template's history
    (git_repo / "sources" / "_templates").mkdir(parents=True)
    template = write(git_repo / "sources" / "_templates" / "files.yml", source_yaml("production"))
    commit(git_repo, at("2025-01-01 00:00"), "templates")
    copy = write(git_repo / "sources" / "orders.yml", template.read_text().replace("x", "y"))
    commit(git_repo, at("2026-11-01 10:00"), "add orders from the template")
    assert file_history(copy) == FileHistory(
        at("2026-11-01 10:00"), at("2026-11-01 10:00"), at("2026-11-01 10:00"), ""
    )


def test_git_history_of_a_file_with_uncommitted_changes(git_repo: Path):
    path = write(git_repo / "sources" / "orders.yml", source_yaml("pilot"))
    commit(git_repo, at("2026-10-30 10:00"), "add orders")
    write(path, source_yaml("production"))  # promoted in the working tree only
    assert file_history(path) == FileHistory(
        added_at=at("2026-10-30 10:00"),
        promoted_at=None,
        changed_at=at("2026-10-30 10:00"),
        note="the file has changes that are not committed",
    )


def test_git_history_of_a_file_not_committed_yet(git_repo: Path):
    write(git_repo / "README.md", "hello\n")
    commit(git_repo, at("2026-10-30 10:00"), "first")
    path = write(git_repo / "sources" / "orders.yml", source_yaml("pilot"))
    assert file_history(path) == FileHistory(note="the file is not committed yet")


def test_git_history_outside_a_git_repository(git_repo: Path, tmp_path: Path):
    folder = tmp_path / "plain" / "sources"
    folder.mkdir(parents=True)
    path = write(folder / "orders.yml", source_yaml("production"))
    assert file_history(path) == FileHistory(note="the sources folder is not in a git repository")


def test_git_history_promotion_is_the_first_production_commit(git_repo: Path):
    path = write(git_repo / "sources" / "orders.yml", source_yaml("pilot"))
    commit(git_repo, at("2026-10-30 10:00"), "add orders")
    write(path, source_yaml("production"))
    commit(git_repo, at("2026-11-01 10:00"), "promote")
    write(path, source_yaml("pilot"))
    commit(git_repo, at("2026-11-02 10:00"), "demote")
    write(path, source_yaml("production"))
    commit(git_repo, at("2026-11-04 10:00"), "promote again")

    history = file_history(path)
    assert history.promoted_at == at("2026-11-01 10:00")
    assert history.added_at == at("2026-10-30 10:00")
    assert history.changed_at == at("2026-11-04 10:00")


def test_git_history_of_a_file_added_as_production(git_repo: Path):
    path = write(git_repo / "sources" / "orders.yml", source_yaml("production"))
    commit(git_repo, at("2026-10-30 10:00"), "add orders")
    write(path, source_yaml("pilot"))
    commit(git_repo, at("2026-11-02 10:00"), "demote")
    history = file_history(path)
    assert history.promoted_at == history.added_at == at("2026-10-30 10:00")


# ---------------------------------------------------------------------------------------------
# integration hours


def test_integration_hours():
    integration = Integration(
        added_at=at("2026-10-30 10:00"),
        first_load_at=at("2026-11-01 08:00"),
        promoted_at=at("2026-11-03 09:00"),
        changed_at=at("2026-11-08 12:00"),
        first_load_after_change_at=at("2026-11-09 20:00"),
    )
    assert integration.hours_to_first_load == pytest.approx(46.0)
    assert integration.hours_to_promotion == pytest.approx(49.0)
    assert integration.hours_change_to_load == pytest.approx(32.0)
    # production before its first load: 0, not negative
    early = Integration(
        at("2026-10-30 10:00"), at("2026-11-01 08:00"), at("2026-10-30 10:00"), None, None
    )
    assert early.hours_to_promotion == 0.0
    assert early.hours_change_to_load is None


# ---------------------------------------------------------------------------------------------
# terminal text


def card(
    name: str,
    stage: str,
    grade: str,
    total: float | None,
    worst: str | None,
    scores: dict[str, float | None],
    integration: Integration,
    freshness: Freshness | None = None,
    quality: Quality | None = None,
    reliability: Reliability | None = None,
    loads: list[LoadPoint] | None = None,
) -> SourceCard:
    return SourceCard(
        name=name,
        stage=stage,
        owner="team:x",
        freshness=freshness or Freshness(26, 1.0, 2.0, at("2026-11-10 06:00"), 0.0),
        quality=quality or Quality({}, {}, None),
        reliability=reliability or Reliability(1, 1, 1.0, None, None),
        integration=integration,
        loads=loads or [],
        scores=scores,
        total=total,
        grade=grade,
        worst=worst,
    )


def hand_built_scorecard() -> Scorecard:
    orders = card(
        "orders",
        "production",
        "D",
        65.0,
        "quality",
        {"freshness": 80, "volume": None, "schema": 100, "quality": 40, "reliability": 50},
        Integration(at("2026-10-30 10:00"), at("2026-11-01 08:00"), None, None, None),
        quality=Quality({"completeness": 100.0, "validity": 40.0}, {}, 40.0),
    )
    signups = card(
        "signups",
        "production",
        "F",
        12.5,
        "freshness",
        {"freshness": 0.0, "reliability": 25.0},
        Integration(at("2026-10-30 10:00"), None, None, None, None),
        freshness=Freshness(26, None, None, None, 250.0),
        reliability=Reliability(4, 1, 0.25, None, at("2026-11-02 08:00")),
    )
    ad_spend = card(
        "ad_spend",
        "pilot",
        "F",
        30.0,
        "reliability",
        {"freshness": 50.0, "volume": 100.0, "reliability": 10.0},
        Integration(at("2026-11-01 07:30"), at("2026-11-01 08:00"), None, None, None),
        loads=[
            LoadPoint("spend", at("2026-11-08 20:00"), 100),
            LoadPoint("spend", at("2026-11-09 20:00"), 12345, True, 9.5),
        ],
    )
    crm = card(
        "crm",
        "production",
        "B",
        85.0,
        "volume",
        {"freshness": 100.0, "volume": 70.0},
        Integration(None, at("2026-11-01 08:00"), None, None, None),
    )
    return Scorecard(at("2026-11-10 08:00"), 30.0, [orders, signups, ad_spend, crm])


def test_render_text_header_rows_and_call_outs():
    text = render_text(hand_built_scorecard())
    # column widths: source 8, stage 10, grade 5, total 5, worst 11 ("reliability"), then
    # each dimension as wide as its name, "time to first load" 18
    assert text.splitlines() == [
        "scorecard of 4 source(s), last 30 days, at 2026-11-10 08:00 UTC",
        "",
        "source    stage       grade  total  worst        freshness  volume  schema  quality"
        "  reliability  time to first load",
        "--------  ----------  -----  -----  -----------  ---------  ------  ------  -------"
        "  -----------  ------------------",
        "orders    production  D      65.0   quality      80.0       -       100.0   40.0   "
        "  50.0         46.0 h",
        "signups   production  F      12.5   freshness    0.0        -       -       -      "
        "  25.0         -",
        "ad_spend  pilot       F      30.0   reliability  50.0       100.0   -       -      "
        "  10.0         30 min",
        "crm       production  B      85.0   volume       100.0      70.0    -       -      "
        "  -            -",
        "",
        "production sources below C:",
        "  orders: grade D, worst quality",
        "  signups: grade F, worst freshness",
        "",
        "orders: checks not all passing: validity 40.0",
        "signups: never loaded; 10.4 d past its 26 h freshness SLA since the file was committed",
        "signups: failing since 2026-11-02 08:00 UTC",
        "ad_spend.spend: volume anomaly, 12,345 rows at 2026-11-09 20:00 UTC",
    ]


def test_render_text_without_call_outs_or_notes():
    healthy = card(
        "crm",
        "production",
        "A",
        96.9,
        "quality",
        {"freshness": 100.0, "quality": 91.7, "reliability": 100.0},
        Integration(at("2026-11-01 06:00"), at("2026-11-03 08:00"), None, None, None),
    )
    text = render_text(Scorecard(at("2026-11-10 08:00"), 7.0, [healthy]))
    assert text.splitlines() == [
        "scorecard of 1 source(s), last 7 days, at 2026-11-10 08:00 UTC",
        "",
        "source  stage       grade  total  worst    freshness  volume  schema  quality"
        "  reliability  time to first load",
        "------  ----------  -----  -----  -------  ---------  ------  ------  -------"
        "  -----------  ------------------",
        "crm     production  A      96.9   quality  100.0      -       -       91.7   "
        "  100.0        2.1 d",
    ]


def test_no_worst_dimension_when_every_score_is_full():
    assert grading.worst_dimension({"freshness": 100.0, "quality": 100.0, "volume": None}) is None
    assert grading.worst_dimension({"freshness": 100.0, "quality": 99.9}) == "quality"


def test_a_table_that_never_loaded_is_stale_since_the_source_first_loaded():
    # orders fresh (loaded at 95 h); customers never loaded since the source's first load at 0
    result = fresh(["orders", "customers"], loads_at("orders", 0, 95))
    assert result.stale_hours == pytest.approx(100 - 10)
    assert result.share_fresh == 0.0


def test_a_large_constant_table_is_judged_on_one_percent_of_its_size():
    earlier = [load("contacts", i, 1_000_000) for i in range(6)]
    (grew,) = metrics.volume([load("contacts", 10, 1_000_004)], earlier)
    assert (grew.z_score, grew.anomaly) == (pytest.approx(0.0004), False)
    (halved,) = metrics.volume([load("contacts", 10, 500_000)], earlier)
    assert (halved.z_score, halved.anomaly) == (pytest.approx(-50.0), True)


def test_the_sla_check_counts_a_never_loaded_production_source_from_its_promotion():
    from assets.governance import late_production_sources

    def never_loaded(name: str, stale: float | None) -> SourceCard:
        return SourceCard(
            name=name,
            stage="production",
            owner="team:x",
            freshness=Freshness(26, None, None, None, stale),
            quality=Quality({}, {}, None),
            reliability=Reliability(0, 0, None, None, None),
            integration=Integration(None, None, None, None, None),
        )

    card = Scorecard(
        generated_at=h(0),
        window_days=30,
        sources=[
            never_loaded("just_promoted", 0.0),
            never_loaded("promoted_last_week", 150.0),
            never_loaded("no_git", None),
        ],
    )
    assert late_production_sources(card) == {
        "promoted_last_week": 150.0,
        "no_git": "never loaded",
    }


def test_git_history_counts_a_merged_pull_request_from_its_merge(git_repo: Path):
    write(git_repo / "README.md", "base\n")
    commit(git_repo, at("2026-01-01 00:00"), "base")
    git(git_repo, "checkout", "-q", "-b", "add-orders")
    path = write(git_repo / "sources" / "orders.yml", source_yaml("production"))
    commit(git_repo, at("2026-02-01 00:00"), "add orders")  # the branch's own commit
    git(git_repo, "checkout", "-q", "main")
    git(
        git_repo, "merge", "-q", "--no-ff", "add-orders", "-m", "merge", when=at("2026-03-01 00:00")
    )
    merged = at("2026-03-01 00:00")
    assert file_history(path) == FileHistory(merged, merged, merged, "")


def test_git_history_of_a_file_with_a_non_ascii_name(git_repo: Path):
    path = write(git_repo / "sources" / "café.yml", source_yaml("pilot"))
    commit(git_repo, at("2026-10-30 10:00"), "add")
    write(path, source_yaml("production"))
    commit(git_repo, at("2026-11-03 09:00"), "promote")
    assert file_history(path).promoted_at == at("2026-11-03 09:00")
