"""The Shopify catalog template against a loopback fake of Shopify's Admin REST API
(fake_shopify.py): `X-Shopify-Access-Token`, `Link` header pages with `page_info`,
`updated_at_min` on the second run, `status=any` orders, and a 429 with `Retry-After: 2.0`."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_shopify import (
    RATE_LIMIT_HEADERS,
    RATE_LIMITED,
    VERSION,
    customer_id,
    customers,
    orders,
    shop_time,
    shopify_api,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
TABLES = ("customers", "orders")
CUSTOMERS = f"/admin/api/{VERSION}/customers.json"
ORDERS = f"/admin/api/{VERSION}/orders.json"


def test_shopify_loads_customers_and_orders_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = customers(260)
    sales = orders(120, customer_count=260)
    api = shopify_api(TOKEN, {"customers": people, "orders": sales})
    api.routes[CUSTOMERS] = rate_limited(
        api.routes[CUSTOMERS], body=RATE_LIMITED, headers=RATE_LIMIT_HEADERS
    )

    def new_data() -> None:
        people[7]["updated_at"] = "2026-03-01T09:00:00-05:00"
        fresh = orders(121, customer_count=260)[120]
        fresh["updated_at"] = "2026-03-02T09:00:00-05:00"
        sales.append(fresh)
        api.requests.clear()

    with serve(api):
        # a wrong token: Shopify's 401 `errors`
        refused = requests.get(
            f"{api.base_url}{ORDERS[1:]}", headers={"X-Shopify-Access-Token": "shpat_0"}, timeout=5
        )
        assert refused.status_code == 401
        assert refused.json()["errors"].startswith("[API] Invalid API key or access token")
        api.requests.clear()
        first: list = []
        runs = run_twice(
            "shopify",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"ACCESS_TOKEN": TOKEN},
            between=lambda: (first.extend(api.requests), new_data()),
            answers={"shop": "demo-store"},
        )
    name = runs.name
    # the first request was refused with 429 (Retry-After: 2.0) and sent again
    assert len(api.routes[CUSTOMERS].refused) == 1
    assert all(r.headers.get("x-shopify-access-token") == TOKEN for r in first)
    # pages followed the Link header: the next page's URL alone, without the filters
    pages = [r.query for r in first if r.path == CUSTOMERS]
    assert pages[0] == pages[1] == {"limit": "250", "updated_at_min": "2026-01-01T00:00:00+00:00"}
    assert set(pages[2]) == {"limit", "page_info"} and len(pages) == 3
    assert [r.query.get("status") for r in first if r.path == ORDERS] == ["any"]
    assert table_rows(query, name, "customers") == 260
    assert table_rows(query, name, "orders") == 121  # closed and cancelled ones too
    assert table_rows(query, name, "orders__line_items") == 242
    # the second run asked only for what changed since the largest `updated_at` loaded
    assert [r.query for r in api.requests_to(CUSTOMERS)] == [
        {"limit": "250", "updated_at_min": shop_time(1, 259)}
    ]
    assert [r.query for r in api.requests_to(ORDERS)] == [
        {"limit": "250", "status": "any", "updated_at_min": shop_time(2, 119)}
    ]
    assert runs.second.materializations[(name, "customers")]["rows_loaded"] == 1
    assert runs.second.materializations[(name, "orders")]["rows_loaded"] == 1
    # PII: emails are salted hashes; names, phones, addresses, notes and IPs never land
    expected = hashlib.sha256(b"test-salt" + b"giulia.bianchi3@example.it").hexdigest()
    assert query(f"select email from {name}.customers where id = {customer_id(3)}") == [(expected,)]
    assert query(
        f"select email, contact_email, customer__email from {name}.orders where name = '#1004'"
    ) == [(expected, expected, expected)]
    customer_columns = columns_of(query, name, "customers")
    assert {"email", "email_marketing_consent__state", "updated_at"} <= customer_columns
    assert not [
        c for c in customer_columns if "name" in c or "phone" in c or "address" in c or c == "note"
    ]
    order_columns = columns_of(query, name, "orders")
    assert {"customer__id", "financial_status", "total_price"} <= order_columns
    personal = ("first_name", "last_name", "phone", "address", "browser_ip", "client_details")
    assert not [c for c in order_columns if c == "note" or any(p in c for p in personal)]
    assert query(
        "select count(*) from information_schema.tables "
        f"where table_schema = '{name}' and table_name like 'customers__%'"
    ) == [(0,)]
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[], []]
    assert query(f"select total_price from {name}.orders where name = '#1001'") == [
        (Decimal("20.90"),)
    ]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 6
