"""The scorecard, checked as a person reads it: a Dagster instance filled by real
`sourcegate run`s at chosen times, and every number compared with one computed by hand.

Each run is started under libfaketime (`faketime '2026-11-01 08:00:00' sourcegate run ...`),
so the instance records the times a daily schedule would have produced: ten days of history
in a minute. The sources folder is a git repository whose commits carry chosen dates, so the
time to integrate is read from real git history too.

The story, in UTC (freshness SLA 26 h for both sources):
- 10-30 10:00 commit: `orders` (pilot) and `signups` (production) are added.
- orders loads daily at 08:00 from 11-01 to 11-06: 100, 104, 96, 102, 98 and 100 rows. On
  11-06 one amount is negative, and a `warn` check on amounts fails from then on.
- 11-03 09:00 commit: orders is promoted to production.
- 11-07 08:00 the orders export has text in a number column: the load fails (frozen types).
  The export is fixed and a run at 14:00 loads it (100 rows): 6 h to recover.
- 11-08 12:00 commit: orders' file changes.
- 11-09 20:00 a late load (54 h after the last one) brings 1,000 rows and a new column.
- signups loads 50 rows on 11-01 08:00, fails on 11-02 08:00, and never loads again.
- The scorecard is taken on 11-10 08:00 over 30 days.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_processes import SOURCEGATE
from tests.conftest import isolated_env

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-10 08:00:00"
HOUR = 3600.0


def at(text: str) -> float:
    """'2026-11-01 08:00' (UTC) as a Unix time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


ORDERS = """\
name: orders
description: Web orders from the shop's nightly export.
owner: team:ecommerce
steward: data-platform@example.com
purpose: Daily revenue reporting.
stage: {stage}
schedule: "0 8 * * *"
freshness_hours: 26
contract: {{tables: evolve, columns: evolve, data_type: freeze}}
files:
  bucket_url: {drop}
  file_glob: "orders_*.csv"
  format: csv
  table: orders
  primary_key: [order_id]
checks:
  orders:
    - expect: not_null
      column: order_id
    - expect: unique
      column: order_id
    - expect: between
      column: amount
      min: 0
      severity: warn
"""

SIGNUPS = """\
name: signups
description: Newsletter signups.
owner: team:crm
steward: data-platform@example.com
purpose: Welcome journeys.
stage: production
schedule: "0 8 * * *"
freshness_hours: 26
contract: {{tables: evolve, columns: evolve, data_type: freeze}}
files:
  bucket_url: {drop}
  file_glob: "signups_*.csv"
  format: csv
  table: signups
  primary_key: [signup_id]
checks:
  signups:
    - expect: not_null
      column: signup_id
    - expect: unique
      column: signup_id
"""


class Story:
    """The project folder, its environment, and helpers to commit and run at chosen times."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources = root / "project" / "sources"
        self.drop = root / "drop"
        self.sources.mkdir(parents=True)
        self.drop.mkdir()
        self.env = isolated_env(
            root,
            SOURCEGATE_SOURCES=str(self.sources),
            SOURCEGATE_DATA_ROOT=str(root),
            SOURCEGATE_STATE_DIR=str(root / "state"),
            SOURCEGATE_REPORTS=str(root / "reports"),
            SOURCEGATE_PII_SALT="scorecard-test-salt",
            # libfaketime: fake the wall clock only; Python's timeouts use the monotonic clock,
            # and faking it too makes threads wait for the faked distance
            FAKETIME_DONT_FAKE_MONOTONIC="1",
        )
        self.next_id = {"orders": 1, "signups": 1}
        self.logs: list[str] = []
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, when: str | None = None) -> None:
        env = {
            **self.env,
            "GIT_AUTHOR_NAME": "Marketer",
            "GIT_AUTHOR_EMAIL": "marketer@example.com",
            "GIT_COMMITTER_NAME": "IT",
            "GIT_COMMITTER_EMAIL": "it@example.com",
        }
        if when:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{when} +0000"
        subprocess.run(["git", *args], cwd=self.root / "project", env=env, check=True)

    def commit(self, when: str, message: str, **files: str) -> None:
        for name, text in files.items():
            (self.sources / f"{name}.yaml").write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, when=when)

    def orders_file(self, text: str) -> str:
        return ORDERS.format(stage=text, drop=self.drop)

    def export(self, name: str, day: str, rows: int, **overrides: object) -> Path:
        """Write `<name>_<day>.csv` with ``rows`` new rows; ``overrides`` set one column."""
        path = self.drop / f"{name}_{day}.csv"
        key = "order_id" if name == "orders" else "signup_id"
        extra = {k: v for k, v in overrides.items() if k != "first_row"}
        first = overrides.get("first_row", {})
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, [key, "amount", *extra])
            writer.writeheader()
            for index in range(rows):
                row = {key: self.next_id[name] + index, "amount": 10 + index % 7, **extra}
                if index == 0:
                    row.update(first)
                writer.writerow(row)
        self.next_id[name] += rows
        return path

    def run(self, when: str, name: str, expect_success: bool = True) -> str:
        done = subprocess.run(
            ["faketime", when, SOURCEGATE, "run", name],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = done.stdout + done.stderr
        self.logs.append(f"$ faketime '{when}' sourcegate run {name}\n{output}")
        assert (done.returncode == 0) == expect_success, output
        return output


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    if shutil.which("faketime") is None:
        pytest.fail("these tests need libfaketime: apt-get install faketime (.ci/run does)")
    story = Story(tmp_path_factory.mktemp("scorecard"))
    story.commit(
        "2026-10-30 10:00:00",
        "Add orders (pilot) and signups",
        orders=story.orders_file("pilot"),
        signups=SIGNUPS.format(drop=story.drop),
    )
    story.export("signups", "01", 50)
    story.run("2026-11-01 08:00:00", "signups")
    story.export("signups", "02", 20, first_row={"amount": "7 EUR"})
    story.run("2026-11-02 08:00:00", "signups", expect_success=False)

    for day, rows in (("01", 100), ("02", 104), ("03", 96)):
        story.export("orders", day, rows)
        story.run(f"2026-11-{day} 08:00:00", "orders")
    story.commit("2026-11-03 09:00:00", "Promote orders", orders=story.orders_file("production"))
    for day, rows in (("04", 102), ("05", 98)):
        story.export("orders", day, rows)
        story.run(f"2026-11-{day} 08:00:00", "orders")
    story.export("orders", "06", 100, first_row={"amount": -5})
    story.run("2026-11-06 08:00:00", "orders")

    broken = story.export("orders", "07", 100, first_row={"amount": "7 EUR"})
    story.run("2026-11-07 08:00:00", "orders", expect_success=False)
    story.next_id["orders"] -= 100
    assert story.export("orders", "07", 100) == broken  # the fixed export replaces it
    story.run("2026-11-07 14:00:00", "orders")

    story.commit(
        "2026-11-08 12:00:00",
        "Describe orders better",
        orders=story.orders_file("production").replace(
            "nightly export.", "nightly export (EU shop)."
        ),
    )
    story.export("orders", "09", 1000, coupon="NONE")
    story.run("2026-11-09 20:00:00", "orders")
    return story


@pytest.fixture(scope="module")
def scorecard(story: Story):
    from pipelines.runtime.instance import cli_instance
    from pipelines.scorecard.compute import build_scorecard
    from pipelines.settings import environment
    from pipelines.spec.registry import load_registry

    with environment({"DAGSTER_HOME": story.env["DAGSTER_HOME"]}):
        registry = load_registry(story.sources, deep=False)
        with cli_instance() as instance:
            card = build_scorecard(instance, registry.sources, window_days=30, now=at(NOW))
    return {source.name: source for source in card.sources}


def test_freshness_is_the_share_of_time_within_the_sla(scorecard) -> None:
    orders, signups = scorecard["orders"], scorecard["signups"]
    # orders: 216 h since its first load; stale 4 h before the 11-07 14:00 load (30 h gap)
    # and 28 h before the 11-09 20:00 load (54 h gap)
    assert orders.freshness.share_fresh == pytest.approx(1 - 32 / 216, abs=2e-4)
    assert orders.freshness.lag_hours == pytest.approx(12, abs=0.02)
    assert orders.freshness.stale_hours == 0
    assert orders.freshness.last_success == pytest.approx(at("2026-11-09 20:00"), abs=60)
    # signups: fresh for 26 h after its only load, stale for the other 190 h
    assert signups.freshness.share_fresh == pytest.approx(26 / 216, abs=2e-4)
    assert signups.freshness.lag_hours == pytest.approx(216, abs=0.02)
    assert signups.freshness.stale_hours == pytest.approx(190, abs=0.02)
    assert orders.scores["freshness"] == pytest.approx(100 * (1 - 32 / 216), abs=0.02)


def test_volume_flags_the_load_three_deviations_from_the_previous_loads(scorecard) -> None:
    orders = scorecard["orders"]
    assert [p.rows for p in orders.loads] == [100, 104, 96, 102, 98, 100, 100, 1000]
    # the first five loads have too little history to judge (fewer than 5 before them)
    assert [p.z_score is None for p in orders.loads] == [True] * 5 + [False] * 3
    # 100 vs 100, 104, 96, 102, 98: mean 100 -> z = 0
    assert orders.loads[5].z_score == pytest.approx(0)
    # 1,000 vs the seven loads before it: mean 100, sample deviation sqrt(40 / 6)
    assert orders.loads[7].z_score == pytest.approx(900 / (40 / 6) ** 0.5)
    assert [p.anomaly for p in orders.loads] == [False] * 7 + [True]
    assert orders.scores["volume"] == pytest.approx(100 * 2 / 3)
    assert scorecard["signups"].scores["volume"] is None


def test_schema_changes_count_new_columns_of_existing_tables(scorecard) -> None:
    orders = scorecard["orders"]
    assert len(orders.schema_changes) == 1
    change = orders.schema_changes[0]
    assert change.at == pytest.approx(at("2026-11-09 20:00"), abs=60)
    assert "coupon" in change.summary
    # 7 loads after the one that created the table; 1 of them changed it
    assert orders.scores["schema"] == pytest.approx(100 * 6 / 7)


def test_quality_is_scored_by_dimension(scorecard) -> None:
    orders = scorecard["orders"]
    assert orders.quality.evaluations == {"completeness": 8, "uniqueness": 8, "validity": 8}
    assert orders.quality.by_dimension["completeness"] == 100
    assert orders.quality.by_dimension["uniqueness"] == 100
    # the warn check on amounts failed in the 11-06, 11-07 14:00 and 11-09 runs: 50 each
    assert orders.quality.by_dimension["validity"] == pytest.approx((5 * 100 + 3 * 50) / 8)
    assert orders.quality.score == pytest.approx((21 * 100 + 3 * 50) / 24)
    assert [r.check_pass_rate for r in orders.runs] == [1, 1, 1, 1, 1, 2 / 3, None, 2 / 3, 2 / 3]


def test_reliability_and_time_to_recover(scorecard) -> None:
    orders, signups = scorecard["orders"], scorecard["signups"]
    assert (orders.reliability.runs, orders.reliability.succeeded) == (9, 8)
    assert [r.succeeded for r in orders.runs].index(False) == 6
    assert orders.reliability.mttr_hours == pytest.approx(6, abs=0.02)
    assert orders.reliability.failing_since is None
    assert (signups.reliability.runs, signups.reliability.succeeded) == (2, 1)
    assert signups.reliability.mttr_hours is None
    assert signups.reliability.failing_since == pytest.approx(at("2026-11-02 08:00"), abs=60)
    assert all(0 < r.duration_seconds < 120 for r in orders.runs)


def test_time_to_integrate_comes_from_git_history(scorecard) -> None:
    orders, signups = scorecard["orders"].integration, scorecard["signups"].integration
    assert orders.added_at == at("2026-10-30 10:00")
    assert orders.hours_to_first_load == pytest.approx(46, abs=0.02)
    assert orders.promoted_at == at("2026-11-03 09:00")
    assert orders.hours_to_promotion == pytest.approx(49, abs=0.02)
    assert orders.changed_at == at("2026-11-08 12:00")
    assert orders.hours_change_to_load == pytest.approx(32, abs=0.02)
    # production from its first commit: promoted before it ever loaded
    assert signups.promoted_at == at("2026-10-30 10:00")
    assert signups.hours_to_promotion == 0
    assert signups.hours_change_to_load == pytest.approx(46, abs=0.02)


def test_the_grade_weighs_the_dimensions(scorecard) -> None:
    orders, signups = scorecard["orders"], scorecard["signups"]
    expected_orders = (
        0.25 * 100 * (1 - 32 / 216)
        + 0.15 * 100 * 2 / 3
        + 0.05 * 100 * 6 / 7
        + 0.30 * (21 * 100 + 3 * 50) / 24
        + 0.25 * 100 * 8 / 9
    )
    assert orders.total == pytest.approx(expected_orders, abs=0.02)  # 85.9
    assert (orders.grade, orders.worst, orders.called_out) == ("B", "volume", False)
    # signups: no volume or schema verdict yet, so the other weights count alone
    expected_signups = (0.25 * 100 * 26 / 216 + 0.30 * 100 + 0.25 * 50) / 0.80
    assert signups.total == pytest.approx(expected_signups, abs=0.02)  # 56.9
    assert (signups.grade, signups.worst, signups.called_out) == ("F", "freshness", True)


def test_the_terminal_table_shows_each_source_with_its_grade(story: Story) -> None:
    html = story.root / "out" / "scorecard.html"
    done = subprocess.run(
        ["faketime", NOW, SOURCEGATE, "scorecard", "--html", str(html)],
        env=story.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "scorecard of 2 source(s), last 30 days, at 2026-11-10 08:00 UTC"
    rows = {line.split()[0]: line.split() for line in lines[4:6]}
    assert rows["orders"][:5] == ["orders", "production", "B", "85.9", "volume"]
    assert rows["signups"][:5] == ["signups", "production", "F", "56.9", "freshness"]
    assert rows["orders"][5:10] == ["85.2", "66.7", "85.7", "93.8", "88.9"]
    assert rows["signups"][5:10] == ["12.0", "-", "-", "100.0", "50.0"]
    assert rows["orders"][10:] == ["46.0", "h"]
    assert "production sources below C:\n  signups: grade F, worst freshness" in done.stdout
    assert "signups: stale for 7.9 d past its 26 h freshness SLA" in done.stdout
    assert "orders.orders: volume anomaly, 1,000 rows at 2026-11-09 20:00 UTC" in done.stdout
    assert "signups: failing since 2026-11-02 08:00 UTC" in done.stdout
    assert f"wrote {html}" in done.stdout
    assert html.stat().st_size > 100_000  # the charting runtime is inlined

    # the page, opened offline in headless Chromium as a person would
    from tests.browser import open_page

    artifacts = Path(os.environ.get("SOURCEGATE_TEST_ARTIFACTS", REPO / "test-artifacts"))
    report = open_page(html, artifacts / "scorecard_from_runs.png")
    assert {s["id"]: s["grade_text"] for s in report.facts["sections"]} == {
        "source-orders": "B",
        "source-signups": "F",
    }
    assert report.facts["called_out_rows"] == ["signups"]
    charts = {(c["section"], c["name"]): c for c in report.facts["charts"]}
    for name in ("loads", "runs", "pass"):
        for source in ("orders", "signups"):
            chart = charts[(f"source-{source}", name)]
            assert chart["state"] == "rendered" and chart["svg"] and chart["marks"] > 0
    assert charts[("integration", "timeline")]["state"] == "rendered"
    orders_text = report.section("source-orders")["text"]
    assert "1,000 rows" in orders_text  # the anomaly is named
    # the per-table row: share fresh, lag, loads, last load rows, anomalies, changes, quality
    assert "orders\t85.2%\t12.0 h\t8\t1,000\t1\t1\t93.8" in orders_text
    assert report.console_errors == [] and report.page_errors == []
    assert report.console_warnings == [] and report.blocked_requests == []
    assert report.screenshot.stat().st_size > 50_000


def test_the_daily_asset_fails_its_check_for_a_production_source_a_day_late(story: Story) -> None:
    """`governance/scorecard` materialized by Dagster from the code location, in the same
    instance. In process: every process libfaketime starts begins at the same faked moment,
    so the helper processes of Dagster's default executor and log capture would see time run
    backwards (the CLI's instance, as `sourcegate run` uses it, starts none)."""
    script = (
        "from dagster import materialize\n"
        "from assets.definitions import defs\n"
        "from assets.governance import SCORECARD_KEY\n"
        "from pipelines.runtime.instance import cli_instance\n"
        "with cli_instance() as instance:\n"
        "    result = materialize([defs.get_assets_def(SCORECARD_KEY)], instance=instance)\n"
    )
    done = subprocess.run(
        ["faketime", NOW, str(Path(SOURCEGATE).parent / "python"), "-c", script],
        env=story.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    from dagster import AssetCheckKey, AssetKey

    from pipelines.runtime.instance import cli_instance
    from pipelines.settings import environment

    with environment({"DAGSTER_HOME": story.env["DAGSTER_HOME"]}), cli_instance() as instance:
        key = AssetKey(["governance", "scorecard"])
        record = instance.fetch_materializations(key, limit=1).records[0]
        metadata = record.asset_materialization.metadata
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [AssetCheckKey(key, "production_freshness_sla")]
        )
    assert metadata["grades"].value == {"orders": "B", "signups": "F"}, output
    assert "signups" in metadata["scorecard"].value
    assert Path(metadata["html"].value) == story.root / "reports" / "scorecard.html"
    assert Path(metadata["html"].value).stat().st_size > 100_000
    (execution,) = check.values()
    evaluation = execution.event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert evaluation.metadata["late_sources"].value == {"signups": pytest.approx(190, abs=0.02)}
    assert evaluation.description == "signups: 190.0 h past its SLA"


def test_plan_shows_the_current_grade_of_each_changed_source(story: Story) -> None:
    orders = story.sources / "orders.yaml"
    before = orders.read_text()
    orders.write_text(before.replace("freshness_hours: 26", "freshness_hours: 30"))
    (story.sources / "leads.yaml").write_text(
        SIGNUPS.format(drop=story.drop)
        .replace("signups", "leads")
        .replace("stage: production", "stage: pilot")
    )
    try:
        done = subprocess.run(
            ["faketime", NOW, SOURCEGATE, "plan", "--base", "HEAD"],
            env=story.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        orders.write_text(before)
        (story.sources / "leads.yaml").unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    sections = done.stdout.split("### ")
    orders_section = next(s for s in sections if s.startswith("`orders` (changed)"))
    leads_section = next(s for s in sections if s.startswith("`leads` (added)"))
    assert "- freshness_hours: `26.0` → `30.0`" in orders_section
    assert "- scorecard: grade **B** (85.9; worst: volume)" in orders_section
    assert "- scorecard: new source, no grade yet" in leads_section
