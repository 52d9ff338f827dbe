"""The Pinterest Ads catalog template against a loopback fake of Pinterest's API v5
(tests/vendors/fake_pinterest_ads.py): OAuth2 with refresh tokens that rotate on every
refresh (tests/fake_oauth.py), `bookmark` pages, daily campaign analytics read from the last
day loaded, and a 429."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.kinds.rest_api.token_store import TokenStore
from tests.fake_api import serve
from tests.vendors.fake_pinterest_ads import FIRST_DAY, RATE_LIMITED, PinterestAds
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

CLIENT_ID = "1489012"
CLIENT_SECRET = "pcs-3b9d7f1e5a2c8e4b6d0f9a1c3e5b7d9f"
ACCOUNT = "549755885175"
END_DATE = "2026-06-30"
BASE = f"/v5/ad_accounts/{ACCOUNT}"


def test_pinterest_ads_loads_account_campaigns_and_daily_analytics_with_rotating_tokens(
    tmp_path: Path,
    warehouse_path: Path,
    materialize_sources,
    query,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pinterest = PinterestAds(CLIENT_ID, CLIENT_SECRET, ACCOUNT, campaign_count=25)
    pinterest.page_cap = 10  # Pinterest's pages hold up to 250; smaller here to see several
    # access tokens die after 12 calls: refreshes happen mid-run, each rotating the refresh token
    seed = pinterest.oauth.reset(requests_per_token=12)
    api = pinterest.api
    api.routes[f"{BASE}/campaigns"] = rate_limited(
        api.routes[f"{BASE}/campaigns"], body=RATE_LIMITED, headers={}
    )
    last_day = pinterest.last_day

    def new_data() -> None:
        new = {**pinterest.campaigns[0], "id": "626700000999", "name": "Spring refresh"}
        pinterest.campaigns.append(new)
        pinterest.campaigns[2]["status"] = "PAUSED"
        pinterest.boost[("626700000003", last_day)] = 5  # late conversions on the last day
        pinterest.last_day = last_day + timedelta(days=2)
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "pinterest_ads",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET, "REFRESH_TOKEN": seed},
            between=new_data,
            answers={"ad_account_id": ACCOUNT, "end_date": END_DATE},
        )
    name = runs.name
    # the 429 was backed off and the page read again
    assert len(api.routes[f"{BASE}/campaigns"].refused) == 1
    # OAuth: Basic client auth and continuous refresh on every token request; every refresh
    # rotated the refresh token, the seed is spent, and the store holds the one live token
    oauth = pinterest.oauth
    assert oauth.refused == [] and oauth.refreshes >= 4
    assert all(r.form().get("refresh_on") == "true" for r in pinterest.token_requests)
    assert all(r.headers["authorization"].startswith("Basic ") for r in pinterest.token_requests)
    assert seed not in oauth.valid_refresh_tokens
    store = TokenStore(warehouse_path.parent / f".{warehouse_path.stem}_dlt" / "oauth2_tokens")
    stored = json.loads(store.path_for(name, CLIENT_ID).read_text())
    assert oauth.valid_refresh_tokens == {stored["refresh_token"]}
    # rows: 26 campaigns (the second run re-read all three pages), 12 days each
    assert table_rows(query, name, "ad_accounts") == 1
    assert table_rows(query, name, "campaigns") == 26
    assert query(f"select status from {name}.campaigns where id = '626700000002'") == [("PAUSED",)]
    assert table_rows(query, name, "campaign_analytics") == 26 * 12
    # no cursor for analytics (dlt-hub/dlt#2429): the second run asked every campaign for the
    # whole window again, and merged what came back on campaign and day
    asked = api.requests_to(f"{BASE}/campaigns/analytics")
    assert {r.query["campaign_ids"] for r in asked} == {c["id"] for c in pinterest.campaigns}
    assert {(r.query["start_date"], r.query["end_date"]) for r in asked} == {
        (FIRST_DAY.isoformat(), END_DATE)
    }
    assert runs.second.materializations[(name, "campaign_analytics")]["rows_loaded"] == 26 * 12
    conversions = (
        f"select total_conversions from {name}.campaign_analytics "
        f"where campaign_id = '626700000003' and date = '{last_day.isoformat()}'"
    )
    assert query(conversions) == [((3 + last_day.day) % 4 * 5,)]
    # PII: the owner's username is a salted hash (case kept: it is not an email)
    assert "owner__username" in columns_of(query, name, "ad_accounts")
    expected = hashlib.sha256(b"test-salt" + b"Shop_Italia_Mkt").hexdigest()
    assert query(f"select owner__username from {name}.ad_accounts") == [(expected,)]
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 7
