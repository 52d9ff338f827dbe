"""The HubSpot catalog template against a loopback fake of HubSpot's CRM search API
(fake_hubspot.py): a private-app Bearer token, POST search bodies paged with `after`, a GTE
filter on the last-modified property on the second run, and a 429 on the first request."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_hubspot import RATE_LIMITED, companies, contacts, deals, hubspot_api
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TOKEN = "pat-eu1-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TABLES = ("contacts", "companies", "deals")
CONTACTS = "/crm/v3/objects/contacts/search"


def test_hubspot_loads_contacts_companies_deals_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(130, company_count=40)
    firms = companies(40)
    pipeline = deals(60)
    api = hubspot_api(TOKEN, {"contacts": people, "companies": firms, "deals": pipeline})
    # HubSpot's search sends no Retry-After: dlt backs off on its own
    api.routes[CONTACTS] = rate_limited(api.routes[CONTACTS], body=RATE_LIMITED, headers={})

    def new_data() -> None:
        people[5]["properties"]["lastmodifieddate"] = "2026-03-01T00:00:00.000Z"
        fresh = deals(61)[60]
        fresh["id"] = fresh["properties"]["hs_object_id"] = "9999"
        fresh["properties"]["hs_lastmodifieddate"] = "2026-03-02T00:00:00.000Z"
        pipeline.append(fresh)
        api.requests.clear()

    with serve(api):
        # a wrong token: HubSpot's 401 error
        refused = requests.post(
            f"{api.base_url}crm/v3/objects/deals/search",
            json={},
            headers={"Authorization": "Bearer pat-eu1-wrong"},
            timeout=5,
        )
        assert refused.status_code == 401
        assert refused.json()["category"] == "INVALID_AUTHENTICATION"
        api.requests.clear()
        first_pages: list = []
        runs = run_twice(
            "hubspot",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"ACCESS_TOKEN": TOKEN},
            between=lambda: (first_pages.extend(api.requests_to(CONTACTS)), new_data()),
        )
    name = runs.name
    # the first request was refused with 429 and sent again; the next page went back with the
    # body's `after`
    assert len(api.routes[CONTACTS].refused) == 1
    assert [r.json().get("after") for r in first_pages] == [None, None, "100"]
    assert table_rows(query, name, "contacts") == 130
    assert table_rows(query, name, "companies") == 40
    assert table_rows(query, name, "deals") == 61
    # the second run searched only for what changed since the largest value loaded
    (second,) = api.requests_to(CONTACTS)
    assert second.method == "POST"
    assert second.json()["filterGroups"] == [
        {
            "filters": [
                {
                    "propertyName": "lastmodifieddate",
                    "operator": "GTE",
                    "value": "2026-02-28T10:00:00.000Z",
                }
            ]
        }
    ]
    assert second.json()["sorts"] == [
        {"propertyName": "lastmodifieddate", "direction": "ASCENDING"}
    ]
    assert runs.second.materializations[(name, "contacts")]["rows_loaded"] == 1
    assert runs.second.materializations[(name, "companies")]["rows_loaded"] == 0
    assert runs.second.materializations[(name, "deals")]["rows_loaded"] == 1
    # PII: the email is a salted hash; names and phones were never asked for
    expected = hashlib.sha256(b"test-salt" + b"contact3@example.com").hexdigest()
    assert query(f"select properties__email from {name}.contacts where id = '1003'") == [
        (expected,)
    ]
    columns = columns_of(query, name, "contacts")
    assert {"properties__email", "properties__lifecyclestage"} <= columns
    assert not [c for c in columns if "name" in c or "phone" in c]
    assert "properties__phone" not in columns_of(query, name, "companies")
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[]] * 3
    # HubSpot's text amounts land as decimals
    assert query(f"select properties__amount from {name}.deals where id = '9002'") == [
        (Decimal("1050.50"),)
    ]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 7
