"""The Braze catalog template against a loopback fake of Braze's REST API (fake_braze.py): the
key as a Bearer token, campaigns by page number, each campaign's data series, unsubscribes by
offset from the day of the last one loaded, and a 429 with X-RateLimit headers."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_braze import (
    FIRST_UNSUBSCRIBE,
    RATE_LIMITED,
    TODAY,
    braze_api,
    campaign_id,
    campaigns,
    day_stats,
    rate_limit_headers,
    stamp,
    unsubscribes,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

KEY = "5f2b3c4d-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
UNSUBSCRIBES = "/email/unsubscribes"
TABLES = ("campaigns", "campaign_stats", "email_unsubscribes")


def test_braze_loads_campaigns_stats_and_unsubscribes_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    waves = campaigns(60)
    addresses = unsubscribes(700)
    late_opens: dict[tuple[str, str], int] = {}
    api = braze_api(KEY, waves, addresses, late_opens)
    # Braze sends no Retry-After on its 429: dlt backs off on its own (2 s here)
    api.routes[UNSUBSCRIBES] = rate_limited(
        api.routes[UNSUBSCRIBES], body=RATE_LIMITED, headers=rate_limit_headers(0)
    )
    first_run: list = []
    yesterday = (TODAY - timedelta(days=1)).isoformat()

    def new_data() -> None:
        first_run.extend(api.requests)
        waves.append(campaigns(61)[60])
        late_opens[(campaign_id(0), yesterday)] = 25  # opens keep arriving after the send
        for offset in (1, 2):
            fresh = unsubscribes(700 + offset)[-1]
            fresh["unsubscribed_at"] = stamp(FIRST_UNSUBSCRIBE + timedelta(days=20, hours=offset))
            addresses.append(fresh)
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "braze",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"API_KEY": KEY},
            between=new_data,
        )
        second_run = list(api.requests)
        refused = requests.get(f"{api.base_url}campaigns/list", timeout=5)
    assert refused.status_code == 401
    assert refused.json() == {"message": "Invalid API key"}
    assert refused.headers["X-RateLimit-Limit"] == "250000"
    name = runs.name
    # the first request was refused with 429; its retry read the same page
    assert len(api.routes[UNSUBSCRIBES].refused) == 1
    # first run: campaign pages until an empty one, one data series per campaign, and the
    # unsubscribes by offset, from the start date, until an empty page
    assert [r.query.get("page") for r in first_run if r.path == "/campaigns/list"] == ["0", "1"]
    series = [r.query for r in first_run if r.path == "/campaigns/data_series"]
    assert len(series) == 60 and series[0] == {"campaign_id": campaign_id(0), "length": "30"}
    start = {"start_date": "2026-01-01", "end_date": "2099-12-31", "sort_direction": "asc"}
    assert [r.query for r in first_run if r.path == UNSUBSCRIBES] == [
        {**start, "offset": "0", "limit": "500"},
        {**start, "offset": "0", "limit": "500"},  # the retry after the 429
        {**start, "offset": "500", "limit": "500"},
        {**start, "offset": "1000", "limit": "500"},
    ]
    assert table_rows(query, name, "campaigns") == 61
    assert table_rows(query, name, "campaign_stats") == 61 * 30
    assert table_rows(query, name, "email_unsubscribes") == 702
    # second run: unsubscribes from the day of the last one loaded (2026-01-09 12:03); that
    # day's earlier ones and the last one come back but are not loaded twice
    last = FIRST_UNSUBSCRIBE + timedelta(minutes=17 * 699)
    assert [r.query for r in second_run if r.path == UNSUBSCRIBES] == [
        {**start, "start_date": last.date().isoformat(), "offset": "0", "limit": "500"},
        {**start, "start_date": last.date().isoformat(), "offset": "500", "limit": "500"},
    ]
    assert runs.second.materializations[(name, "email_unsubscribes")]["rows_loaded"] == 2
    # the stats of the last 30 days are read again for every campaign, and merged
    assert runs.second.materializations[(name, "campaign_stats")]["rows_loaded"] == 61 * 30
    opens = day_stats(0, TODAY - timedelta(days=1), 25)["messages"]["email"][0]["opens"]
    assert query(
        f"select e.opens from {name}.campaign_stats s join {name}.campaign_stats__messages__email e"
        f" on e._dlt_parent_id = s._dlt_id where s._campaigns_id = '{campaign_id(0)}'"
        f" and s.time = '{yesterday}'"
    ) == [(opens,)]
    # PII: the unsubscribed address is a salted hash (of the lower-cased address)
    expected = hashlib.sha256(b"test-salt" + b"subscriber3@example.com").hexdigest()
    assert query(
        f"select email from {name}.email_unsubscribes "
        f"where unsubscribed_at = '{stamp(FIRST_UNSUBSCRIBE + timedelta(minutes=51))}'"
    ) == [(expected,)]
    assert columns_of(query, name, "email_unsubscribes") >= {"email", "unsubscribed_at"}
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[], [], []]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 7
