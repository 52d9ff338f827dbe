"""The Google Ads catalog template against a loopback fake of the Google Ads REST search
(tests/vendors/fake_google_ads.py) and Google's token endpoint (tests/fake_oauth.py): GAQL in
a POST body with the date filter filled in, `nextPageToken` sent back as `pageToken`, the
developer token, an access token that expires mid-run, and a 429 without Retry-After."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.fake_oauth import OAuthServer
from tests.vendors import fake_google_ads as gads
from tests.vendors.common_ads import files_holding, token_url_to_fake
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

DEVELOPER_TOKEN = "Zq3vX9dev-token-approved"
CUSTOMER, MANAGER = "1234567890", "9876543210"


def test_google_ads_loads_daily_metrics_incrementally_with_oauth_and_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gads.account(CUSTOMER, MANAGER, date(2026, 1, 1), days=20)
    oauth = OAuthServer("google-client.apps.googleusercontent.com", "google-client-secret")
    api = gads.google_ads_api(oauth, DEVELOPER_TOKEN, data)
    search_path = f"/{gads.VERSION}/customers/{CUSTOMER}/googleAds:search"
    api.routes[search_path] = rate_limited(api.routes[search_path], body=gads.THROTTLED, headers={})
    token_url_to_fake(monkeypatch)
    first_run: list = []

    def new_data() -> None:
        # a late conversion changes a day inside the 14 days read again; a new day arrives
        late = next(r for r in data.campaign if r["segments.date"] == "2026-01-10")
        late["metrics.conversions"] = 99.5
        gads.add_day(data, date(2026, 1, 21))
        first_run.extend(api.requests)
        api.requests.clear()

    with serve(api):
        # Google does not rotate refresh tokens; an access token serves 6 API calls here
        seed = oauth.reset(rotate=False, expires_in=3599, requests_per_token=6)
        runs = run_twice(
            "google_ads",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {
                "DEVELOPER_TOKEN": DEVELOPER_TOKEN,
                "CLIENT_ID": oauth.client_id,
                "CLIENT_SECRET": oauth.client_secret,
                "REFRESH_TOKEN": seed,
            },
            between=new_data,
            answers={"customer_id": CUSTOMER, "login_customer_id": MANAGER},
        )
    name = runs.name
    # the 429 was waited out; access tokens that stopped working mid-run were refreshed
    assert len(api.routes[search_path].refused) == 1
    assert oauth.unauthorized >= 1 and oauth.refreshes >= 3
    assert oauth.refused == []
    searches = [r for r in first_run + api.requests if r.path == search_path]
    assert all(r.headers["developer-token"] == DEVELOPER_TOKEN for r in searches)
    assert all(r.headers["login-customer-id"] == MANAGER for r in searches)
    # 74 campaign days in pages of 50: the second page asked with the first page's token
    first_searches = [r.json() for r in first_run if r.path == search_path]
    campaign_pages = [b for b in first_searches if "FROM campaign " in b["query"]]
    assert {p.get("pageToken") for p in campaign_pages} == {None, "NTA="}
    assert table_rows(query, name, "campaign_daily") == 74 + 3
    assert table_rows(query, name, "ad_group_daily") == 3 * (74 + 3)
    assert table_rows(query, name, "account_users") == 5
    # second run: the last date loaded (2026-01-20) minus 14 days, inside the GAQL text
    queries = [r.json()["query"] for r in api.requests if r.path == search_path]
    dated = [q for q in queries if "segments.date" in q]
    assert dated and all(
        "WHERE segments.date >= '2026-01-06' AND segments.date <= '2099-12-31'" in q for q in dated
    )
    second = runs.second.materializations
    # 2026-01-06..21: campaign 3 has rows up to 01-14 only
    assert second[(name, "campaign_daily")]["rows_loaded"] == 16 * 3 + 9
    assert second[(name, "ad_group_daily")]["rows_loaded"] == 3 * (16 * 3 + 9)
    assert query(
        f"select metrics__conversions, metrics__cost_micros from {name}.campaign_daily "
        "where campaign__id = '2100' and segments__date = '2026-01-10'"
    ) == [(99.5, sum(_clicks(0, g, day=9) * 410_000 + g * 10_000 for g in range(3)))]
    # PII: emails hashed (lower-cased first), nothing else of the user's kept in clear
    columns = columns_of(query, name, "account_users")
    assert "customer_user_access__email_address" in columns
    expected = hashlib.sha256(b"test-salt" + b"marketing.user2@example.com").hexdigest()
    assert query(
        "select customer_user_access__email_address, "
        "customer_user_access__inviter_user_email_address "
        f"from {name}.account_users where customer_user_access__user_id = '5550002'"
    ) == [(expected, hashlib.sha256(b"test-salt" + b"agency.lead@example.com").hexdigest())]
    # tokens and the developer token are kept nowhere but in the token store
    assert files_holding(tmp_path, [*oauth.secrets(), DEVELOPER_TOKEN]) == []
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 8


def _clicks(campaign: int, group: int, day: int) -> int:
    return 5 + (group + campaign + day) % 9
