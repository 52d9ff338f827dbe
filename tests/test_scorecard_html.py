"""The scorecard page, as a person sees it: rendered from a hand-made scorecard, then opened
offline in headless Chromium (the screenshot stays in test-artifacts/)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.scorecard.html import render_html, write_html
from pipelines.scorecard.model import (
    DIMENSIONS,
    Freshness,
    Integration,
    LoadPoint,
    Quality,
    Reliability,
    RunPoint,
    SchemaChange,
    Scorecard,
    SourceCard,
)
from tests import browser
from tests.browser import PageReport, open_page

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC).timestamp()
HOUR, DAY = 3600.0, 86400.0
OWNER = "Marketing Ops <crm&ads>"


def _artifacts() -> Path:
    return Path(os.environ.get("SOURCEGATE_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _crm() -> SourceCard:
    """A healthy production source: daily loads of two tables, one volume anomaly, one failed
    run that recovered, a dip in check pass rate and one schema change."""
    start = NOW - 20 * DAY
    loads = [LoadPoint("contacts", start + d * DAY, 400 + 5 * d) for d in range(20)]
    loads[12] = LoadPoint("contacts", start + 12 * DAY, 2400, anomaly=True, z_score=41.7)
    loads += [LoadPoint("companies", start + d * DAY + 60, 120 + d) for d in range(20)]
    runs = [
        RunPoint(f"crm-{d}", start + d * DAY, 40 + d % 5 * 3, d != 7, 0.8 if d == 12 else 1.0)
        for d in range(20)
    ]
    runs[7] = RunPoint("crm-7", start + 7 * DAY, 12.0, False, None)  # failed before any check
    return SourceCard(
        name="crm_contacts",
        stage="production",
        owner=OWNER,
        freshness=Freshness(24, 0.97, 5.0, NOW - 5 * HOUR, 0.0),
        quality=Quality(
            {"completeness": 100.0, "uniqueness": 95.0, "validity": 100.0},
            {"completeness": 19, "uniqueness": 19, "validity": 38},
            98.8,
        ),
        reliability=Reliability(20, 19, 0.95, 23.5, None),
        integration=Integration(
            added_at=NOW - 40 * DAY,
            first_load_at=NOW - 40 * DAY + 3.2 * HOUR,
            promoted_at=NOW - 30 * DAY,
            changed_at=NOW - 6 * DAY,
            first_load_after_change_at=NOW - 6 * DAY + 1.5 * HOUR,
        ),
        loads=loads,
        runs=runs,
        schema_changes=[SchemaChange("contacts", start + 9 * DAY, "added column: utm_source")],
        scores={"freshness": 97, "volume": 95, "schema": 90, "quality": 98.8, "reliability": 95},
        total=95.6,
        grade="A",
        worst="schema",
    )


def _ads() -> SourceCard:
    """A production source graded D: stale for two days and failing since then."""
    start = NOW - 12 * DAY
    loads = [LoadPoint("daily_spend", start + d * DAY, 31 * (d + 1)) for d in range(10)]
    runs = [RunPoint(f"ads-{d}", start + d * DAY, 95.0, True, 1.0 - d * 0.02) for d in range(10)]
    runs += [RunPoint(f"ads-f{d}", NOW - (2 - d) * DAY, 310.0, False, 0.5) for d in range(3)]
    return SourceCard(
        name="ad_spend",
        stage="production",
        owner="Paid Media",
        freshness=Freshness(24, 0.71, 50.0, NOW - 50 * HOUR, 26.0),
        quality=Quality(
            {"validity": 62.5, "consistency": 50.0}, {"validity": 8, "consistency": 4}, 58.3
        ),
        reliability=Reliability(13, 10, 10 / 13, None, NOW - 2 * DAY),
        integration=Integration(
            added_at=NOW - 20 * DAY,
            first_load_at=NOW - 12 * DAY,
            promoted_at=NOW - 9 * DAY,
            changed_at=None,
            first_load_after_change_at=None,
            note="unchanged since it was added",
        ),
        loads=loads,
        runs=runs,
        scores={"freshness": 71, "volume": 100, "schema": 100, "quality": 58.3, "reliability": 40},
        total=62.0,
        grade="D",
        worst="reliability",
    )


def _stripe() -> SourceCard:
    """A pilot that never loaded: nothing to judge, so grade "-"."""
    return SourceCard(
        name="stripe_customers",
        stage="pilot",
        owner="Finance",
        freshness=Freshness(None, None, None, None, None),
        quality=Quality({}, {}, None),
        reliability=Reliability(0, 0, None, None, None),
        integration=Integration(NOW - 3 * DAY, None, None, None, None, note="never loaded"),
        scores=dict.fromkeys(DIMENSIONS),
    )


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    return Scorecard(generated_at=NOW, window_days=30, sources=[_crm(), _ads(), _stripe()])


@pytest.fixture(scope="module")
def page_html(scorecard: Scorecard) -> str:
    return render_html(scorecard)


@pytest.fixture(scope="module")
def report(scorecard: Scorecard) -> PageReport:
    """The page written to test-artifacts/ and opened in Chromium once for the module."""
    page = write_html(scorecard, _artifacts() / "scorecard.html")
    return open_page(page, _artifacts() / "scorecard.png")


def test_the_page_loads_nothing_from_the_network(page_html: str) -> None:
    tags = re.findall(r"<(?:script|link)\b[^>]*>", page_html)
    assert all("http://" not in tag and "https://" not in tag for tag in tags), tags
    assert not re.search(r"<(?:script|link)\b[^>]*\b(?:src|href)=", page_html)
    # three scripts for any number of charts: the Vega bundle (inlined once), the specs, the loop
    assert len(re.findall(r"<script\b", page_html)) == 3
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page_html))


def test_text_from_the_cards_is_escaped(page_html: str) -> None:
    assert "Marketing Ops &lt;crm&amp;ads&gt;" in page_html
    assert OWNER not in page_html


def test_a_source_name_cannot_end_the_chart_script() -> None:
    card = _crm()
    card.name = "evil</script><b>x"
    html = render_html(Scorecard(NOW, 30, [card]))
    assert "</script><b>" not in html
    specs = re.search(r'id="chart-specs">(.*?)</script>', html, re.S)
    assert specs and json.loads(specs.group(1))  # still valid JSON after escaping


def test_the_page_is_written_whole(tmp_path: Path, scorecard: Scorecard) -> None:
    path = write_html(scorecard, tmp_path / "reports" / "daily" / "scorecard.html")
    assert [p.name for p in path.parent.iterdir()] == ["scorecard.html"]  # no temp file left
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert path.stat().st_mode & 0o777 == 0o644


def test_numbers_are_formatted_for_people(page_html: str) -> None:
    assert "Generated 2026-11-01 08:00 UTC · window 30 days" in page_html
    assert "95.0%" in page_html  # crm success rate
    assert "3.2 h" in page_html  # crm: added to first load
    assert "9.9 d" in page_html  # crm: first load to promotion
    assert "1.5 h" in page_html  # crm: change to load
    assert "never loaded" in page_html


def test_each_source_renders_with_its_grade(report: PageReport) -> None:
    assert {s["id"]: (s["grade"], s["grade_text"]) for s in report.facts["sections"]} == {
        "source-crm_contacts": ("A", "A"),
        "source-ad_spend": ("D", "D"),
        "source-stripe_customers": ("-", "-"),
    }
    assert report.section("source-ad_spend")["called_out"]
    assert report.facts["called_out_rows"] == ["ad_spend"]
    assert "ad_spend" in report.facts["callout_text"]
    assert "Marketing Ops <crm&ads>" in report.section("source-crm_contacts")["text"]


def test_every_chart_is_drawn_as_svg_with_marks(report: PageReport) -> None:
    charts = {(c["section"], c["name"]): c for c in report.facts["charts"]}
    assert set(charts) == {
        ("integration", "timeline"),
        *(
            (f"source-{name}", kind)
            for name in ("crm_contacts", "ad_spend")
            for kind in ("loads", "runs", "pass")
        ),
    }
    for key, chart in charts.items():
        assert chart["state"] == "rendered" and chart["svg"] and chart["marks"] > 0, key


def test_a_source_without_data_says_so(report: PageReport) -> None:
    text = report.section("source-stripe_customers")["text"]
    assert "no loads in the window" in text
    assert "no runs in the window" in text


def test_the_page_has_no_errors_and_needs_no_network(report: PageReport) -> None:
    assert report.console_errors == []
    assert report.console_warnings == []
    assert report.page_errors == []
    assert report.blocked_requests == []


def test_the_screenshot_is_kept(report: PageReport) -> None:
    assert report.screenshot.is_file()
    assert report.screenshot.stat().st_size > 50_000


def test_the_harness_catches_a_page_that_reaches_for_the_network(tmp_path: Path) -> None:
    page = tmp_path / "online.html"
    page.write_text('<html><script src="https://cdn.example.invalid/vega.js"></script></html>')
    report = open_page(page, tmp_path / "online.png")
    assert report.blocked_requests == ["https://cdn.example.invalid/vega.js"]
    assert report.console_errors  # the aborted script shows up as a failed load


def test_a_missing_chromium_fails_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        browser.open_page(tmp_path / "page.html", tmp_path / "page.png")
