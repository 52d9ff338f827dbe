"""The Intercom catalog template against a loopback fake of Intercom's search API
(fake_intercom.py): a Bearer token, `Intercom-Version: 2.11`, the cursor sent back in the POST
body, `updated_at` filters (day-rounded for contacts, hence the two-day lag), and a 429 with
X-RateLimit headers on the first request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_intercom import (
    DAY,
    JAN_2,
    RATE_LIMITED,
    VERSION,
    contact_id,
    contacts,
    conversations,
    intercom_api,
    rate_limit_headers,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TOKEN = "dG9rOmZha2UwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMDoxOjA="
TABLES = ("contacts", "conversations")


def test_intercom_loads_contacts_and_conversations_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(320)
    talks = conversations(60, contact_count=320)
    api = intercom_api(TOKEN, people, talks)
    # Intercom sends no Retry-After on its 429: dlt backs off on its own (2 s here)
    api.routes["/contacts/search"] = rate_limited(
        api.routes["/contacts/search"], body=RATE_LIMITED, headers=rate_limit_headers(0)
    )
    first_run: list = []

    def new_data() -> None:
        first_run.extend(api.requests)
        people[5]["updated_at"] = JAN_2 + 20 * DAY  # an old contact changed
        fresh = contacts(321)[320]
        fresh["updated_at"] = JAN_2 + 20 * DAY + 60
        people.append(fresh)
        talk = conversations(61, contact_count=321)[60]
        talk["updated_at"] = JAN_2 + 20 * DAY
        talks.append(talk)
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "intercom",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"ACCESS_TOKEN": TOKEN},
            between=new_data,
        )
        second_run = list(api.requests)
        # a wrong token gets Intercom's error list, not a bare 401
        refused = requests.post(
            f"{api.base_url}contacts/search",
            json={"query": {"field": "updated_at", "operator": ">", "value": 1}},
            headers={"Authorization": "Bearer nope", "Intercom-Version": VERSION},
            timeout=5,
        )
    assert refused.status_code == 401
    assert refused.json()["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
    name = runs.name
    # the first request was refused with 429; its retry read the same page
    assert len(api.routes["/contacts/search"].refused) == 1
    # first run: 320 contacts in pages of 150, the cursor sent back in the body
    contact_pages = [r.json() for r in first_run if r.path == "/contacts/search"]
    assert [p["pagination"].get("starting_after") is not None for p in contact_pages] == [
        False,
        False,  # the retry after the 429
        True,
        True,
    ]
    assert contact_pages[0]["query"] == {
        "field": "updated_at",
        "operator": ">",
        "value": 1767225600,
    }
    assert all(r.headers.get("intercom-version") == VERSION for r in first_run + second_run)
    assert table_rows(query, name, "contacts") == 321
    assert table_rows(query, name, "conversations") == 61
    # second run: contacts asked from two days before the largest updated_at loaded (as an
    # integer, as Intercom's dates are); day rounding then serves everything from the next
    # midnight: 32 contacts read again (merged), the changed one and the new one
    last = JAN_2 + 319 * 3600
    second = [r.json() for r in second_run if r.path == "/contacts/search"]
    assert [body["query"] for body in second] == [
        {"field": "updated_at", "operator": ">", "value": last - 2 * DAY}
    ]
    assert second[0]["pagination"] == {"per_page": 150}
    assert runs.second.materializations[(name, "contacts")]["rows_loaded"] == 34
    # conversations: no lag; the boundary conversation comes back but is not loaded twice
    talk_queries = [r.json()["query"] for r in second_run if r.path == "/conversations/search"]
    assert talk_queries == [{"field": "updated_at", "operator": ">", "value": JAN_2 + 59 * 7200}]
    assert runs.second.materializations[(name, "conversations")]["rows_loaded"] == 1
    assert query(f"select updated_at from {name}.contacts where id = '{contact_id(5)}'") == [
        (JAN_2 + 20 * DAY,)
    ]
    # PII: emails are salted hashes; phones, names, avatars, locations and messages never land
    expected = hashlib.sha256(b"test-salt" + b"person3@example.com").hexdigest()
    assert query(f"select email from {name}.contacts where id = '{contact_id(3)}'") == [(expected,)]
    assert query(f"select source__author__email from {name}.conversations where id = '3353'") == [
        (expected,)
    ]
    contact_columns = columns_of(query, name, "contacts")
    assert {"email", "role", "updated_at", "external_id", "email_domain"} <= contact_columns
    assert not [
        c
        for c in contact_columns
        if c.startswith(("phone", "name", "avatar", "location", "social_profiles"))
    ]
    talk_columns = columns_of(query, name, "conversations")
    assert {"source__author__email", "source__author__id", "state"} <= talk_columns
    assert not {"source__author__name", "source__body", "source__subject"} & talk_columns
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[], []]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 7
