"""The Klaviyo catalog template against a loopback fake of Klaviyo's API (tests/fake_jsonapi.py):
JSON:API pages, the API-key header with its prefix, `revision`, filters on `updated` and
`datetime`, and a 429 with Retry-After on the first request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.fake_jsonapi import events, klaviyo_api, profiles
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

KEY = "pk_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e"
THROTTLED = {"errors": [{"status": 429, "code": "throttled", "title": "Request was throttled."}]}


def test_klaviyo_loads_profiles_and_events_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = profiles(120)
    happenings = events(90, profile_count=120)
    api = klaviyo_api(KEY, {"profiles": (people, "updated"), "events": (happenings, "datetime")})
    api.routes["/api/profiles"] = rate_limited(api.routes["/api/profiles"], body=THROTTLED)

    def new_data() -> None:
        people[5]["attributes"]["updated"] = "2026-03-01T00:00:00+00:00"
        fresh = events(91, profile_count=120)[90]
        fresh["id"], fresh["attributes"]["datetime"] = "01EVENTNEW0001", "2026-03-02T00:00:00+00:00"
        happenings.append(fresh)
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "klaviyo",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"API_KEY": KEY},
            between=new_data,
        )
    name = runs.name
    # the first request was throttled; its retry after Retry-After read the same page
    assert len(api.routes["/api/profiles"].refused) == 1
    assert table_rows(query, name, "profiles") == 120
    assert table_rows(query, name, "events") == 91
    # the second run asked only for what changed since the largest value loaded
    assert [r.query["filter"] for r in api.requests_to("/api/profiles")] == [
        "greater-than(updated,2026-01-06T00:00:00+00:00)"
    ]
    assert runs.second.materializations[(name, "profiles")]["rows_loaded"] == 1
    assert runs.second.materializations[(name, "events")]["rows_loaded"] == 1
    # PII: the email is a salted hash, phone, names and location never land
    columns = columns_of(query, name, "profiles")
    assert "attributes__email" in columns
    assert not [c for c in columns if "phone" in c or "name" in c or "location" in c]
    expected = hashlib.sha256(b"test-salt" + b"person3@example.com").hexdigest()
    assert query(f"select attributes__email from {name}.profiles where id = '01PROFILE000003'") == [
        (expected,)
    ]
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 5
