"""The TikTok Ads catalog template against a loopback fake of TikTok's API for Business
(tests/vendors/fake_tiktok_ads.py): the `Access-Token` header, page/page_size pages with
`data.page_info.total_page`, errors as HTTP 200 with `code != 0`, and a throttled request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.vendors.fake_tiktok_ads import PREFIX, THROTTLED, TikTokAds
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TOKEN = "act.4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"
ADVERTISER = "7012345678901234567"
CAMPAIGNS = f"{PREFIX}/campaign/get/"


def test_tiktok_ads_loads_account_campaigns_and_lifetime_report_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiktok = TikTokAds(TOKEN, ADVERTISER, campaign_count=1050)  # two pages of 1000
    api = tiktok.api
    api.routes[CAMPAIGNS] = rate_limited(api.routes[CAMPAIGNS], body=THROTTLED)

    def new_data() -> None:
        tiktok.campaigns[3]["budget"] = 999.0
        fresh = {**tiktok.campaigns[0], "campaign_id": "1800000000000009999"}
        fresh["campaign_name"] = "Summer launch"
        tiktok.campaigns.append(fresh)
        tiktok.scale["1800000000000000005"] = 2  # the campaign kept delivering
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "tiktok_ads",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"ACCESS_TOKEN": TOKEN},
            between=new_data,
            answers={"advertiser_id": ADVERTISER},
        )
        name = runs.name
        # TikTok's own rate limit: HTTP 200 with code 40100. It cannot be retried from YAML,
        # so the run must fail (not load a short table) and leave the loaded rows alone.
        tiktok.throttle_in_body("campaign/get/")
        third = materialize_sources(runs.path.parent)
    assert not third.success
    # (the response's text is masked in failures, TikTok's code with it)
    assert "not found in the response" in (third.failure or "")
    assert "nothing was loaded" in (third.failure or "")
    # the HTTP-level 429 was waited out and the same page read again
    assert len(api.routes[CAMPAIGNS].refused) == 1
    assert table_rows(query, name, "advertisers") == 1
    assert table_rows(query, name, "campaigns") == 1051
    assert table_rows(query, name, "campaign_report") == 1051
    # no incremental filter exists for changed campaigns: the second run read both pages again
    second_run = api.requests_to(CAMPAIGNS)[:2]  # the third run's request comes after
    assert sorted(r.query["page"] for r in second_run) == ["1", "2"]
    assert all(set(r.query) == {"advertiser_id", "page_size", "page"} for r in second_run)
    assert {r.query["advertiser_id"] for r in second_run} == {ADVERTISER}
    assert runs.second.materializations[(name, "campaigns")]["rows_loaded"] == 1051
    assert runs.second.materializations[(name, "campaign_report")]["rows_loaded"] == 1051
    # merged, not appended: the changed budget and the grown metrics replaced the old rows
    budget = f"select budget from {name}.campaigns where campaign_id = '1800000000000000003'"
    assert query(budget) == [(999.0,)]
    assert query(
        f"select metrics__clicks, metrics__spend from {name}.campaign_report "
        "where dimensions__campaign_id = '1800000000000000005'"
    ) == [(30, 18.5)]
    # PII: the (masked) email is a salted hash; contact name, phones, address and license never land
    columns = columns_of(query, name, "advertisers")
    assert "email" in columns and "name" in columns
    for dropped in ("contacter", "cellphone_number", "telephone_number", "address", "license_no"):
        assert dropped not in columns
    assert "license_url" not in columns
    expected = hashlib.sha256(b"test-salt" + b"lu***@shop-italia.it").hexdigest()
    assert query(f"select email from {name}.advertisers") == [(expected,)]
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 8
