"""The Brevo catalog template against a loopback fake of Brevo's v3 API (fake_brevo.py): the
`api-key` header, offset pages sized by `count`, `modifiedSince` on the second run, campaigns
read whole (several pages at once), and a 429 with x-sib-ratelimit headers."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_brevo import (
    FIRST_CHANGE,
    RATE_LIMIT_HEADERS,
    RATE_LIMITED,
    brevo_api,
    campaigns,
    contacts,
    stamp,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

KEY = "xkeysib-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0-AbCdEfGh12345678"
CONTACTS = "/v3/contacts"
TABLES = ("contacts", "email_campaigns")


def test_brevo_loads_contacts_incrementally_and_campaigns_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(1500)
    newsletters = campaigns(230)
    api = brevo_api(KEY, people, newsletters)
    # Brevo sends no Retry-After on its 429: dlt backs off on its own (2 s here)
    api.routes[CONTACTS] = rate_limited(
        api.routes[CONTACTS], body=RATE_LIMITED, headers=RATE_LIMIT_HEADERS
    )
    first_run: list = []

    def new_data() -> None:
        first_run.extend(api.requests)
        people[7]["modifiedAt"] = stamp(FIRST_CHANGE + timedelta(days=30))
        people.append(contacts(1501)[1500])
        people[-1]["modifiedAt"] = stamp(FIRST_CHANGE + timedelta(days=30, minutes=5))
        newsletters.append(campaigns(231)[230])
        newsletters[1]["statistics"]["globalStats"]["viewed"] = 9999  # late opens
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "brevo",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"API_KEY": KEY},
            between=new_data,
        )
        second_run = list(api.requests)
        refused = requests.get(f"{api.base_url}v3/contacts", headers={"api-key": "nope"}, timeout=5)
    assert refused.status_code == 401
    assert refused.json() == {"code": "unauthorized", "message": "Key not found"}
    name = runs.name
    # the first request was refused with 429; its retry read the same page
    assert len(api.routes[CONTACTS].refused) == 1
    # first run: contact pages by offset until `count`, oldest first, from the start date;
    # campaigns in three pages of 100, without their HTML
    start = {"modifiedSince": "2026-01-01T00:00:00.000Z", "sort": "asc", "limit": "1000"}
    assert [r.query for r in first_run if r.path == CONTACTS] == [
        {**start, "offset": "0"},
        {**start, "offset": "0"},  # the retry after the 429
        {**start, "offset": "1000"},
    ]
    campaign_pages = [r.query for r in first_run if r.path == "/v3/emailCampaigns"]
    assert sorted(q["offset"] for q in campaign_pages) == ["0", "100", "200"]
    assert all(q["excludeHtmlContent"] == "true" for q in campaign_pages)
    assert table_rows(query, name, "contacts") == 1501
    assert table_rows(query, name, "email_campaigns") == 231
    # second run: only contacts modified after the largest modifiedAt loaded, as Brevo wrote it
    last = stamp(FIRST_CHANGE + timedelta(minutes=10 * 1499))
    assert [r.query for r in second_run if r.path == CONTACTS] == [
        {"modifiedSince": last, "sort": "asc", "limit": "1000", "offset": "0"}
    ]
    assert runs.second.materializations[(name, "contacts")]["rows_loaded"] == 2
    assert runs.second.materializations[(name, "email_campaigns")]["rows_loaded"] == 231
    assert query(
        f"select statistics__global_stats__viewed from {name}.email_campaigns where id = 2"
    ) == [(9999,)]
    # PII: emails are salted hashes; attributes (names, SMS number) and sender mailboxes never land
    expected = hashlib.sha256(b"test-salt" + b"contact3@example.com").hexdigest()
    assert query(f"select email from {name}.contacts where id = 4") == [(expected,)]
    contact_columns = columns_of(query, name, "contacts")
    assert {"email", "modified_at", "email_blacklisted"} <= contact_columns
    assert not [c for c in contact_columns if c.startswith("attributes")]
    campaign_columns = columns_of(query, name, "email_campaigns")
    assert {"sender__name", "statistics__global_stats__sent", "subject"} <= campaign_columns
    assert not {"sender__email", "reply_to", "html_content"} & campaign_columns
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[], []]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 5
