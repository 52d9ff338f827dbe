"""The Meta Marketing catalog template against a loopback fake of the Graph API
(tests/vendors/fake_meta_marketing.py): the access token as a query parameter, `paging.next`
URLs, daily ad insights read again over the attribution window, the change log read since the
last event, and a throttled first request."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.vendors import fake_meta_marketing as meta
from tests.vendors.common_ads import files_holding
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TOKEN = "EAAGm0PX4ZCpsBAKZCtestsystemusertoken0123456789"
ACCOUNT = "1234567890123456"


def test_meta_marketing_loads_campaigns_insights_and_changes_incrementally(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaigns = meta.campaigns(12)
    ad_list = meta.ads(10, campaigns)
    insight_rows = meta.insights(ad_list, date(2026, 1, 1), days=25)
    changes = meta.activities(130, campaigns)
    api = meta.meta_api(TOKEN, ACCOUNT, campaigns, insight_rows, changes)
    insights_path = f"/{meta.VERSION}/act_{ACCOUNT}/insights"
    # Meta throttles with HTTP 400 (code 80004), which dlt does not retry; its body and usage
    # header on a 429 (no Retry-After: dlt backs off) stand for a throttling proxy
    api.routes[insights_path] = rate_limited(
        api.routes[insights_path], body=meta.THROTTLED, headers=meta.USAGE_HEADER
    )
    first_run: list = []

    def new_data() -> None:
        # a late conversion changes a day inside the attribution window, a new day arrives
        late = next(r for r in insight_rows if r["date_start"] == "2026-01-20")
        late["spend"] = "99.99"
        insight_rows.extend(meta.insights(ad_list, date(2026, 1, 26), days=1))
        fresh = meta.activities(131, campaigns)[130]
        changes.append(fresh)
        campaigns[0]["name"] = "Campagna 0 - rinominata"
        first_run.extend(api.requests)
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "meta_marketing",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"ACCESS_TOKEN": TOKEN},
            between=new_data,
            answers={"ad_account_id": ACCOUNT, "start_date": "2026-01-01"},
        )
    name = runs.name
    # the throttled first request was waited out and read again
    assert len(api.routes[insights_path].refused) == 1
    # 250 insight rows in pages of 200: the 429, page 1, then `paging.next` with its cursor
    pages = [r.query for r in first_run if r.path == insights_path]
    assert [("after" in q, q["time_range"]) for q in pages] == [
        (False, '{"since": "2026-01-01", "until": "2099-12-31"}')
    ] * 2 + [(True, '{"since": "2026-01-01", "until": "2099-12-31"}')]
    assert table_rows(query, name, "campaigns") == 12
    assert table_rows(query, name, "ad_insights") == 260
    assert table_rows(query, name, "activities") == 131
    # second run: insights from the last day loaded minus the 7-day lag (one page), the
    # change log from the last event time; every request carried the token
    seconds = api.requests_to(insights_path)
    assert [r.query["time_range"] for r in seconds] == [
        '{"since": "2026-01-18", "until": "2099-12-31"}'
    ]
    activity_requests = api.requests_to(f"/{meta.VERSION}/act_{ACCOUNT}/activities")
    assert [r.query["since"] for r in activity_requests] == ["2026-01-27T21:00:00+0000"]
    assert all(r.query["access_token"] == TOKEN for r in api.requests)
    second = runs.second.materializations
    assert second[(name, "ad_insights")]["rows_loaded"] == 90
    assert second[(name, "activities")]["rows_loaded"] == 1
    assert second[(name, "campaigns")]["rows_loaded"] == 12
    assert query(
        f"select spend from {name}.ad_insights where ad_id = '120230000000000000' "
        "and date_start = '2026-01-20'"
    ) == [(Decimal("99.99"),)]
    assert query(f"select name from {name}.campaigns where id = '120210000000000000'") == [
        ("Campagna 0 - rinominata",)
    ]
    # PII: who made a change is hashed, names never land
    columns = columns_of(query, name, "activities")
    assert "actor_id" in columns
    assert "actor_name" not in columns and "object_name" not in columns
    expected = hashlib.sha256(b"test-salt" + b"100000000000002").hexdigest()
    rows = query(f"select distinct actor_id from {name}.activities")
    assert (expected,) in rows and ("100000000000002",) not in rows
    # the token travels in every URL (Meta's `paging.next` too) but is kept nowhere
    assert files_holding(tmp_path, [TOKEN]) == []
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 8
