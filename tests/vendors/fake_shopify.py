"""A loopback fake of Shopify's Admin REST API (customers, orders), version 2024-10.

What it reproduces, from Shopify's public API reference (https://shopify.dev/docs/api/admin-rest
and https://shopify.dev/docs/api/usage/pagination-rest):
- auth: `X-Shopify-Access-Token: <token>`; otherwise a 401 `{"errors": "[API] Invalid API key
  or access token (unrecognized login or wrong password)"}`;
- envelopes `{"customers": [...]}` and `{"orders": [...]}`; numeric ids; times in the shop's
  time zone (`-05:00`); money as text (`"12.50"`); orders with a nested `customer`, addresses
  and `line_items`;
- cursor pages: `limit` (default 50, at most 250), the next page's URL in the `Link` header
  (`<...page_info=...>; rel="next"`, plus `rel="previous"` after the first page); a request
  with `page_info` may only add `limit` and `fields` (anything else is a 400);
- filters `updated_at_min` (at or after) and, on orders, `status` (`open` by default, `closed`,
  `cancelled`, `any`);
- the `X-Shopify-Shop-Api-Call-Limit` and `X-Shopify-API-Version` headers on every answer.
Not documented, so made up here: the order of records (by id) and the text of the 400 for
`page_info` with other parameters. Rate limiting (a 429 with `Retry-After: 2.0`) is added by the
test with `tests.vendors.harness.rate_limited`, `RATE_LIMITED` and `RATE_LIMIT_HEADERS`.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.fake_api import FakeApi, Request, json_response

VERSION = "2024-10"
OFFSET = "-05:00"  # the shop's time zone
RATE_LIMITED = {
    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service."
}
RATE_LIMIT_HEADERS = {"Retry-After": "2.0", "X-Shopify-Shop-Api-Call-Limit": "40/40"}
_PAGE_PARAMS = {"limit", "fields", "page_info"}


def shop_time(month: int, index: int) -> str:
    """An hour per ``index`` from the first of ``month`` 2026, in the shop's time zone."""
    return f"2026-{month:02d}-{1 + index // 24:02d}T{index % 24:02d}:00:00{OFFSET}"


def _address(i: int, customer_id: int) -> dict[str, Any]:
    return {
        "id": 600_000 + i,
        "customer_id": customer_id,
        "first_name": f"Giulia{i}",
        "last_name": f"Bianchi{i}",
        "company": None,
        "address1": f"Via Torino {i}",
        "address2": None,
        "city": "Milano",
        "province": "Milano",
        "country": "Italy",
        "zip": f"201{i % 100:02d}",
        "phone": f"+39 02 555 {i:04d}",
        "name": f"Giulia{i} Bianchi{i}",
        "country_code": "IT",
        "default": True,
    }


def customer_id(i: int) -> int:
    """The id of the ``i``-th customer."""
    return 207_119_551 + i


def customers(count: int) -> list[dict[str, Any]]:
    """Customers with personal fields, updated an hour apart from 2026-01-01 in the shop's zone."""
    made = []
    for i in range(count):
        address = _address(i, customer_id(i))
        made.append(
            {
                "id": customer_id(i),
                "email": f"Giulia.Bianchi{i}@Example.IT",
                "first_name": f"Giulia{i}",
                "last_name": f"Bianchi{i}",
                "phone": f"+3902555{i:04d}",
                "state": "enabled",
                "verified_email": True,
                "currency": "EUR",
                "tags": "vip" if i % 10 == 0 else "",
                "note": f"Prefers delivery after 6pm, call +39 333 {i:06d}" if i % 4 == 0 else None,
                "tax_exempt": False,
                "created_at": shop_time(1, i),
                "updated_at": shop_time(1, i),
                "email_marketing_consent": {
                    "state": "subscribed" if i % 3 else "not_subscribed",
                    "opt_in_level": "single_opt_in",
                    "consent_updated_at": shop_time(1, i),
                },
                "addresses": [address],
                "default_address": address,
            }
        )
    return made


def orders(count: int, customer_count: int) -> list[dict[str, Any]]:
    """Orders updated an hour apart from 2026-02-01; every ninth a guest's, every fifth closed
    and every eleventh cancelled (so only `status=any` reads them all)."""
    made = []
    for i in range(count):
        c = i % customer_count
        address = _address(c, customer_id(c))
        buyer = None
        if i % 9 != 8:
            buyer = {
                "id": customer_id(c),
                "email": f"Giulia.Bianchi{c}@Example.IT",
                "first_name": f"Giulia{c}",
                "last_name": f"Bianchi{c}",
                "phone": f"+3902555{c:04d}",
                "state": "enabled",
                "currency": "EUR",
                "default_address": address,
            }
        made.append(
            {
                "id": 450_789_469 + i,
                "name": f"#{1001 + i}",
                "order_number": 1001 + i,
                "email": f"Giulia.Bianchi{c}@Example.IT",
                "contact_email": f"Giulia.Bianchi{c}@Example.IT",
                "phone": f"+3902555{c:04d}",
                "created_at": shop_time(1, i),
                "updated_at": shop_time(2, i),
                "processed_at": shop_time(1, i),
                "closed_at": shop_time(2, i) if i % 5 == 4 else None,
                "cancelled_at": shop_time(2, i) if i % 11 == 10 else None,
                "financial_status": "refunded" if i % 11 == 10 else "paid",
                "fulfillment_status": "fulfilled" if i % 5 == 4 else None,
                "currency": "EUR",
                "total_price": f"{20 + i}.90",
                "subtotal_price": f"{15 + i}.90",
                "total_tax": "5.00",
                "source_name": "web",
                "browser_ip": f"203.0.113.{i % 250}",
                "client_details": {"browser_ip": f"203.0.113.{i % 250}", "user_agent": "Mozilla"},
                "note": "Leave at the door" if i % 6 == 0 else None,
                "customer": buyer,
                "billing_address": address,
                "shipping_address": address,
                "line_items": [
                    {
                        "id": 866_550_311 + 2 * i + n,
                        "title": f"Product {n}",
                        "sku": f"SKU-{n:03d}",
                        "quantity": 1 + n,
                        "price": f"{7 + n}.95",
                    }
                    for n in range(2)
                ],
            }
        )
    return made


def shopify_api(token: str, tables: dict[str, list[dict[str, Any]]]) -> FakeApi:
    """Routes `/admin/api/2024-10/<name>.json` for each of ``tables`` (customers, orders)."""
    api = FakeApi(token=token, authorized=lambda _request: True)  # checked here, Shopify's way
    for name, records in tables.items():
        api.routes[f"/admin/api/{VERSION}/{name}.json"] = _lister(api, token, name, records)
    return api


def _answer(status: int, body: Any, headers: dict[str, str] | None = None):
    return json_response(
        status,
        body,
        {
            "X-Shopify-Shop-Api-Call-Limit": "1/40",
            "X-Shopify-API-Version": VERSION,
            **(headers or {}),
        },
    )


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _status_of(order: dict[str, Any]) -> str:
    if order["cancelled_at"]:
        return "cancelled"
    return "closed" if order["closed_at"] else "open"


def _token(offset: int, filters: dict[str, str]) -> str:
    raw = json.dumps({"offset": offset, "filters": filters}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _lister(api: FakeApi, token: str, name: str, records: list[dict[str, Any]]):
    def list_records(request: Request):
        if request.headers.get("x-shopify-access-token") != token:
            return _answer(
                401,
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
            )
        limit = min(int(request.query.get("limit", 50)), 250)
        if "page_info" in request.query:
            extra = sorted(set(request.query) - _PAGE_PARAMS)
            if extra:
                return _answer(400, {"errors": {"page_info": [f"cannot be used with {extra}"]}})
            try:
                cursor = _untoken(request.query["page_info"])
            except ValueError:
                return _answer(400, {"errors": {"page_info": ["Invalid value."]}})
            start, filters = cursor["offset"], cursor["filters"]
        else:
            start = 0
            filters = {k: v for k, v in request.query.items() if k not in _PAGE_PARAMS}
        rows = sorted(records, key=lambda r: r["id"])
        if "updated_at_min" in filters:
            since = _when(filters["updated_at_min"])
            rows = [r for r in rows if _when(r["updated_at"]) >= since]
        if name == "orders":
            status = filters.get("status", "open")
            rows = [r for r in rows if status == "any" or _status_of(r) == status]
        page = rows[start : start + limit]
        links = []
        base = f"{api.base_url}admin/api/{VERSION}/{name}.json"
        if start > 0:
            back = urlencode({"limit": limit, "page_info": _token(max(start - limit, 0), filters)})
            links.append(f'<{base}?{back}>; rel="previous"')
        if start + limit < len(rows):
            ahead = urlencode({"limit": limit, "page_info": _token(start + limit, filters)})
            links.append(f'<{base}?{ahead}>; rel="next"')
        return _answer(200, {name: page}, {"Link": ", ".join(links)} if links else None)

    return list_records
