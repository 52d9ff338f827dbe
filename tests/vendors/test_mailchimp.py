"""The Mailchimp catalog template against a loopback fake of Mailchimp's Marketing API
(fake_mailchimp.py): basic auth with the API key, `count`/`offset` pages up to `total_items`,
`since_last_changed` on the second run, `exclude_fields`, and a 429 on the first request."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_mailchimp import (
    RATE_LIMITED,
    at,
    audiences,
    campaigns,
    mailchimp_api,
    members,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

KEY = "0123456789abcdef0123456789abcdef-us21"
LIST_ID = "a1b2c3d4e5"
TABLES = ("lists", "members", "campaigns")
MEMBERS = f"/3.0/lists/{LIST_ID}/members"


def test_mailchimp_loads_audiences_members_campaigns_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = members(1010, LIST_ID)
    mailings = campaigns(12, [LIST_ID, "f0e1d2c3b4"])
    lists = audiences([LIST_ID, "f0e1d2c3b4"])
    others = members(3, "f0e1d2c3b4")
    api = mailchimp_api(KEY, lists, {LIST_ID: people, "f0e1d2c3b4": others}, mailings)
    # Mailchimp documents no Retry-After: dlt backs off on its own
    api.routes[MEMBERS] = rate_limited(api.routes[MEMBERS], body=RATE_LIMITED, headers={})

    def new_data() -> None:
        people[5]["last_changed"] = "2026-03-15T00:00:00+00:00"
        mailings.append(campaigns(13, [LIST_ID])[12])
        api.requests.clear()

    with serve(api):
        # a key of another data center: Mailchimp's 401 problem document
        refused = requests.get(
            f"{api.base_url}3.0/campaigns", auth=("anystring", KEY[:-4] + "us6"), timeout=5
        )
        assert refused.status_code == 401
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["title"] == "API Key Invalid"
        api.requests.clear()
        first: list = []
        runs = run_twice(
            "mailchimp",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"API_KEY": KEY},
            between=lambda: (first.extend(api.requests), new_data()),
            answers={"list_id": LIST_ID},
        )
    name = runs.name
    # basic auth: any user name, the key as the password
    user, _, password = (
        base64.b64decode(first[0].headers["authorization"][6:]).decode().partition(":")
    )
    assert user and password == KEY
    # the first request was refused with 429 and sent again; then offset pages of 1000
    assert len(api.routes[MEMBERS].refused) == 1
    pages = [(r.query["offset"], r.query["count"]) for r in first if r.path == MEMBERS]
    assert pages == [("0", "1000"), ("0", "1000"), ("1000", "1000")]
    assert table_rows(query, name, "members") == 1010
    assert table_rows(query, name, "lists") == 2
    assert table_rows(query, name, "campaigns") == 13
    # the second run asked only for members changed since the largest `last_changed` loaded
    (second,) = api.requests_to(MEMBERS)
    assert second.query["since_last_changed"] == at(1009)
    assert (second.query["sort_field"], second.query["sort_dir"]) == ("last_changed", "ASC")
    assert runs.second.materializations[(name, "members")]["rows_loaded"] == 1
    assert runs.second.materializations[(name, "campaigns")]["rows_loaded"] == 13  # replaced
    # PII: the email and its MD5 id are salted hashes; names, form fields, IPs, notes never land
    email = "marta.rossi3@example.com"
    expected = hashlib.sha256(b"test-salt" + email.encode()).hexdigest()
    md5 = hashlib.md5(email.encode()).hexdigest()
    hashed_id = hashlib.sha256(b"test-salt" + md5.encode()).hexdigest()
    assert query(f"select id from {name}.members where email_address = '{expected}'") == [
        (hashed_id,)
    ]
    columns = columns_of(query, name, "members")
    assert {"email_address", "status", "stats__avg_open_rate", "last_changed"} <= columns
    personal = ("name", "merge_fields", "ip_", "location", "last_note")
    assert not [c for c in columns if any(p in c for p in personal)]
    # `exclude_fields` kept the hypermedia links and the audience's postal address out
    tables = query(
        f"select table_name from information_schema.tables where table_schema = '{name}'"
    )
    assert not [t for (t,) in tables if "links" in t]
    assert not [c for c in columns_of(query, name, "lists") if c.startswith("contact")]
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[]] * 3
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 8
