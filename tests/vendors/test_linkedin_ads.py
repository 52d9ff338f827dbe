"""The LinkedIn Ads catalog template against a loopback fake of LinkedIn's Marketing API
(tests/vendors/fake_linkedin_ads.py) and its token endpoint (tests/fake_oauth.py), which
rotates the refresh token on every refresh: version and Rest.li headers, Rest.li 2.0 queries
written in the path, cursor pages for campaigns, start/count pages for account users, daily
analytics read again whole, and a 429 without Retry-After."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.fake_oauth import OAuthServer
from tests.vendors import fake_linkedin_ads as linkedin
from tests.vendors.common_ads import files_holding, token_url_to_fake
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

ACCOUNT = "508123456"


# Words and numbers joined by Rest.li's and a query's punctuation:
# `List(urn:li:sponsoredAccount:508123456)`, `adAnalytics?q=analytics&fields=dateRange,...`
def test_linkedin_ads_loads_campaigns_analytics_and_users_with_rotating_tokens(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_list = linkedin.campaigns(ACCOUNT, 25)
    users = linkedin.account_users(ACCOUNT, 7)
    daily = linkedin.analytics(campaign_list[:10], date(2026, 1, 1), date(2026, 1, 20))
    oauth = OAuthServer("86linkedinclient", "linkedin-client-secret")
    api = linkedin.linkedin_api(oauth, ACCOUNT, campaign_list, users, daily)
    api.routes["/rest/adAnalytics"] = rate_limited(
        api.routes["/rest/adAnalytics"], body=linkedin.THROTTLED, headers={}
    )
    # page sizes the vendor leaves to the client, made small so that paging shows
    token_url_to_fake(
        monkeypatch, replace={"pageSize=100": "pageSize=10", "limit: 100,": "limit: 3,"}
    )
    first_run: list = []
    refreshes_in_first_run: list[int] = []

    def next_day() -> None:
        daily.extend(linkedin.analytics(campaign_list[:10], date(2026, 1, 21), date(2026, 1, 21)))
        daily[0]["externalWebsiteConversions"] = 42  # a late conversion on 2026-01-01
        campaign_list[3]["status"] = "PAUSED"
        users.pop()  # a member lost access
        refreshes_in_first_run.append(oauth.refreshes)
        first_run.extend(api.requests)
        api.requests.clear()

    with serve(api):
        # every refresh rotates the refresh token; an access token serves 4 API calls here
        seed = oauth.reset(rotate=True, expires_in=5184000, requests_per_token=4)
        runs = run_twice(
            "linkedin_ads",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {
                "CLIENT_ID": oauth.client_id,
                "CLIENT_SECRET": oauth.client_secret,
                "REFRESH_TOKEN": seed,
            },
            between=next_day,
            answers={
                "ad_account_id": ACCOUNT,
                "start_year": "2026",
                "start_month": "1",
                "start_day": "1",
            },
        )
    name = runs.name
    assert len(api.routes["/rest/adAnalytics"].refused) == 1
    # rotated on every refresh, mid-run too, and kept: the second run refreshed with the
    # newest token from the store (the seed IT set was spent in the first)
    assert refreshes_in_first_run[0] >= 2 and oauth.refreshes > refreshes_in_first_run[0]
    assert oauth.refused == []
    assert seed not in oauth.valid_refresh_tokens
    every = first_run + api.requests
    api_calls = [r for r in every if r.path.startswith("/rest/")]
    assert {r.headers["linkedin-version"] for r in api_calls} == {"202410"}
    assert {r.headers["x-restli-protocol-version"] for r in api_calls} == {"2.0.0"}
    # campaigns: 25 in cursor pages of 10; users: start/count pages of 3 until an empty one
    campaign_pages = [
        r.query.get("pageToken") for r in first_run if r.path.endswith("/adCampaigns")
    ]
    assert sorted(set(campaign_pages), key=str) == sorted({None, "MTA=", "MjA="}, key=str)
    user_pages = [r.query["start"] for r in first_run if r.path == "/rest/adAccountUsers"]
    assert sorted(set(user_pages), key=int) == ["0", "3", "6", "9"]
    # analytics: the Rest.li values arrived as written, the same window on both runs
    windows = {
        (r.query["dateRange"], r.query["accounts"]) for r in every if r.path == "/rest/adAnalytics"
    }
    assert windows == {
        ("(start:(year:2026,month:1,day:1))", f"List(urn:li:sponsoredAccount:{ACCOUNT})")
    }
    assert table_rows(query, name, "campaigns") == 25
    assert table_rows(query, name, "campaign_analytics") == 210
    assert table_rows(query, name, "account_users") == 6
    second = runs.second.materializations
    assert second[(name, "campaign_analytics")]["rows_loaded"] == 210
    assert second[(name, "campaigns")]["rows_loaded"] == 25
    assert query(
        f"select external_website_conversions from {name}.campaign_analytics "
        "where (pivot_values->>'$[0]') = 'urn:li:sponsoredCampaign:180000000' "
        "and date_range__start__day = 1"
    ) == [(42,)]
    # PII: the member's URN is hashed
    assert "user" in columns_of(query, name, "account_users")
    expected = hashlib.sha256(b"test-salt" + b"urn:li:person:Mbr01xYz4Qa").hexdigest()
    landed = {u for (u,) in query(f"select user from {name}.account_users")}
    assert expected in landed and not [u for u in landed if u.startswith("urn:")]
    # rotated refresh tokens live in the token store only
    assert files_holding(tmp_path, oauth.secrets()) == []
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 8


def test_the_fake_refuses_what_linkedin_refuses() -> None:
    """Headers and tokens the template must send, answered as LinkedIn does."""
    import requests

    oauth = OAuthServer("86linkedinclient", "linkedin-client-secret")
    api = linkedin.linkedin_api(oauth, ACCOUNT, linkedin.campaigns(ACCOUNT, 1), [], [])
    with serve(api):
        seed = oauth.reset()
        url = f"{api.base_url}rest/adAccounts/{ACCOUNT}/adCampaigns?q=search"
        assert requests.get(url, timeout=5).json()["code"] == "VERSION_MISSING"
        old = requests.get(url, headers={"LinkedIn-Version": "202301"}, timeout=5)
        assert (old.status_code, old.json()["code"]) == (426, "NONEXISTENT_VERSION")
        anonymous = requests.get(url, headers={"LinkedIn-Version": "202410"}, timeout=5)
        assert (anonymous.status_code, anonymous.json()["serviceErrorCode"]) == (401, 65600)
        token = requests.post(
            f"{api.base_url}oauth/v2/accessToken",
            data={
                "grant_type": "refresh_token",
                "refresh_token": seed,
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret,
            },
            timeout=5,
        ).json()
        assert token["refresh_token"] != seed
        spent = requests.post(
            f"{api.base_url}oauth/v2/accessToken",
            data={
                "grant_type": "refresh_token",
                "refresh_token": seed,
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret,
            },
            timeout=5,
        )
        assert (spent.status_code, spent.json()["error"]) == (400, "invalid_grant")
