"""The GA4 catalog template against a loopback fake of the GA4 Data API's runReport
(tests/vendors/fake_ga4.py) and Google's token endpoint (tests/fake_oauth.py): reports POSTed
with the start date filled in from the last date loaded, `offset`/`limit` pages in the body
until `rowCount`, rows landing with their dimension lists as keys, and a 429 without
Retry-After."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.fake_oauth import OAuthServer
from tests.vendors import fake_ga4 as ga4
from tests.vendors.common_ads import files_holding, token_url_to_fake
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

PROPERTY = "123456789"


def test_ga4_loads_daily_reports_incrementally_with_oauth(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = ga4.visits(date(2026, 1, 1), days=20)
    today = [date(2026, 1, 21)]
    oauth = OAuthServer("ga4-client.apps.googleusercontent.com", "ga4-client-secret")
    api = ga4.ga4_api(oauth, PROPERTY, facts, today)
    report_path = f"/{ga4.VERSION}/properties/{PROPERTY}:runReport"
    api.routes[report_path] = rate_limited(api.routes[report_path], body=ga4.THROTTLED, headers={})
    # GA4's page is up to `limit` rows (10,000 in the template); 50 shows paging with few rows
    token_url_to_fake(monkeypatch, replace={"limit: 10000": "limit: 50"})
    first_run: list = []

    def next_morning() -> None:
        # GA4 finished processing 2026-01-19 (inside the 2 days read again); a new day came
        for fact in facts:
            if fact["date"] == date(2026, 1, 19) and fact["sessionSource"] == "newsletter":
                fact["sessions"] += 100
        facts.extend(ga4.visits(date(2026, 1, 21), days=1))
        today[0] += timedelta(days=1)
        first_run.extend(api.requests)
        api.requests.clear()

    with serve(api):
        seed = oauth.reset(rotate=False, expires_in=3599)
        runs = run_twice(
            "ga4",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {
                "CLIENT_ID": oauth.client_id,
                "CLIENT_SECRET": oauth.client_secret,
                "REFRESH_TOKEN": seed,
            },
            between=next_morning,
            answers={"property_id": PROPERTY, "start_date": "2026-01-01"},
        )
    name = runs.name
    assert len(api.routes[report_path].refused) == 1
    assert oauth.refused == [] and oauth.refreshes >= 1
    # 10 traffic rows a day over 20 days: offsets 0, 50, 100, 150 in the body, then rowCount
    bodies = [r.json() for r in first_run if r.path == report_path]
    traffic = [b for b in bodies if b["dimensions"][1]["name"] == "sessionSource"]
    assert sorted({(b["offset"], b["limit"]) for b in traffic}) == [
        (0, 50),
        (50, 50),
        (100, 50),
        (150, 50),
    ]
    assert {json.dumps(b["dateRanges"]) for b in bodies} == {
        json.dumps([{"startDate": "2026-01-01", "endDate": "yesterday"}])
    }
    assert table_rows(query, name, "traffic_daily") == 210
    assert table_rows(query, name, "landing_pages_daily") == 84
    # second run: from the last date loaded (2026-01-20) minus the 2 days GA4 may still change
    seconds = [r.json() for r in api.requests if r.path == report_path]
    assert {json.dumps(b["dateRanges"]) for b in seconds} == {
        json.dumps([{"startDate": "2026-01-18", "endDate": "yesterday"}])
    }
    second = runs.second.materializations
    assert second[(name, "traffic_daily")]["rows_loaded"] == 4 * 10
    assert second[(name, "landing_pages_daily")]["rows_loaded"] == 4 * 4
    # the rows read again were merged on their dimension list, with GA4's late numbers
    newsletter = query(
        f"select cast(metric_values->>'$[0].value' as int) from {name}.traffic_daily "
        "where (dimension_values->>'$[0].value') = '2026-01-19' "
        "and (dimension_values->>'$[1].value') = 'newsletter' "
        "and (dimension_values->>'$[3].value') = 'inverno_0'"
    )
    expected = sum(
        f["sessions"]
        for f in facts
        if f["date"] == date(2026, 1, 19)
        and f["sessionSource"] == "newsletter"
        and f["sessionCampaignName"] == "inverno_0"
    )
    assert newsletter == [(expected,)] and expected > 400
    # no personal fields: the dimension lists land as JSON, nothing else of the visitors
    assert {c for c in columns_of(query, name, "traffic_daily") if not c.startswith("_dlt")} == {
        "dimension_values",
        "metric_values",
    }
    assert files_holding(tmp_path, oauth.secrets()) == []
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 5
