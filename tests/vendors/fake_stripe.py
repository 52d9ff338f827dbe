"""A loopback fake of Stripe's list endpoints (customers, charges).

What it reproduces, from Stripe's public API reference (https://docs.stripe.com/api):
- auth: the secret key as `Authorization: Bearer <key>` or as the basic-auth user name; a
  missing or wrong key is a 401 with Stripe's error object (`invalid_request_error`);
- `Stripe-Version`: optional, but an unknown version is a 400;
- lists: `{"object": "list", "url", "has_more", "data"}`, newest first (by `created`);
  `limit` 1-100 (default 10), `starting_after=<id>` for the next page (an unknown id is a 400
  `resource_missing`), and `created[gte|gt|lte|lt]` filters, which apply to every page;
- an unknown query parameter is a 400 `parameter_unknown`, as Stripe refuses them;
- every answer carries a `Request-Id`.
Rate limiting (a 429 with error code `rate_limit`, no Retry-After documented) is added by the
test with `tests.vendors.harness.rate_limited` and `RATE_LIMITED`.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.fake_api import FakeApi, Request, json_response, stripe_customers

API_VERSION = "2024-06-20"
KNOWN_VERSIONS = {"2023-10-16", "2024-04-10", API_VERSION}
START = 1767225600  # 2026-01-01T00:00:00Z
RATE_LIMITED = {
    "error": {
        "code": "rate_limit",
        "message": "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        "type": "invalid_request_error",
    }
}
_FILTERS = {"created[gte]", "created[gt]", "created[lte]", "created[lt]"}
_PARAMS = {"limit", "starting_after", "ending_before", "customer", *_FILTERS}
_OBJECT = {"customers": "customer", "charges": "charge"}


def customers(count: int) -> list[dict[str, Any]]:
    """`tests.fake_api.stripe_customers`, with mixed-case emails and some shipping details."""
    made = stripe_customers(count)
    for i, customer in enumerate(made):
        customer["email"] = f"Customer{i}@Example.COM"
        if i % 3 == 0:
            customer["shipping"] = {
                "name": f"Customer {i}",
                "phone": f"+4930{i:07d}",
                "address": {"line1": f"Via Verdi {i}", "city": "Torino", "country": "IT"},
            }
    return made


def charges(count: int, customer_count: int) -> list[dict[str, Any]]:
    """Card charges, half an hour after each customer; every fifth is a guest's (no customer)."""
    return [
        {
            "id": f"ch_{i:014d}",
            "object": "charge",
            "amount": 1000 + 50 * i,
            "amount_captured": 1000 + 50 * i,
            "amount_refunded": 0,
            "currency": "eur",
            "customer": None if i % 5 == 4 else f"cus_{i % customer_count:014d}",
            "created": START + 1800 + i * 3600,
            "status": "succeeded",
            "paid": True,
            "refunded": False,
            "description": f"Order {5000 + i}",
            "billing_details": {
                "email": f"Buyer{i}@Example.com",
                "name": f"Buyer {i}",
                "phone": f"+3902{i:07d}",
                "address": {"line1": f"Corso Como {i}", "city": "Milano", "country": "IT"},
            },
            "receipt_email": f"Buyer{i}@Example.com",
            "receipt_url": f"https://pay.stripe.com/receipts/acct_1/ch_{i:014d}/rcpt_secret{i}",
            "payment_method_details": {
                "type": "card",
                "card": {
                    "brand": "visa",
                    "last4": f"{4242 + i % 10}",
                    "exp_month": 1 + i % 12,
                    "exp_year": 2028,
                    "fingerprint": f"Xt5EWLLDS7FJ{i:04d}",
                    "country": "IT",
                },
            },
            "shipping": None
            if i % 2
            else {"name": f"Buyer {i}", "address": {"line1": f"Corso Como {i}", "city": "Milano"}},
            "outcome": {"network_status": "approved_by_network", "risk_level": "normal"},
            "metadata": {"channel": "web" if i % 2 else "store"},
            "livemode": False,
        }
        for i in range(count)
    ]


def stripe_api(key: str, tables: dict[str, list[dict[str, Any]]]) -> FakeApi:
    """Routes `/v1/<name>` for each of ``tables`` (customers, charges), with ``key`` as the key."""
    api = FakeApi(token=key, authorized=lambda _request: True)  # checked here, Stripe's way
    for name, records in tables.items():
        api.routes[f"/v1/{name}"] = _lister(key, name, records)
    return api


def _error(status: int, message: str, code: str | None = None, param: str | None = None):
    error: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return json_response(status, {"error": error}, {"Request-Id": "req_fake"})


def _key_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :]
    if header.startswith("Basic "):
        user = base64.b64decode(header[len("Basic ") :]).decode()
        return user.split(":", 1)[0]
    return None


def _auth_problem(key: str, request: Request):
    given = _key_of(request)
    if not given:
        return _error(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if given != key:
        return _error(401, f"Invalid API Key provided: {given[:8]}****{given[-4:]}")
    version = request.headers.get("stripe-version")
    if version is not None and version not in KNOWN_VERSIONS:
        return _error(400, f"Invalid Stripe API version: {version}", param="Stripe-Version")
    return None


def _lister(key: str, name: str, records: list[dict[str, Any]]):
    def list_records(request: Request):
        problem = _auth_problem(key, request)
        if problem:
            return problem
        unknown = sorted(set(request.query) - _PARAMS)
        if unknown:
            return _error(
                400, f"Received unknown parameter: {unknown[0]}", "parameter_unknown", unknown[0]
            )
        limit = int(request.query.get("limit", 10))
        if not 1 <= limit <= 100:
            return _error(400, "Invalid integer: limit", "parameter_invalid_integer", "limit")
        rows = sorted(records, key=lambda r: (r["created"], r["id"]), reverse=True)
        for param in _FILTERS & set(request.query):
            bound, op = int(request.query[param]), param[len("created[") : -1]
            rows = [r for r in rows if _compare(r["created"], op, bound)]
        after = request.query.get("starting_after")
        if after is not None:
            found = next((r for r in records if r["id"] == after), None)
            if found is None:
                return _error(
                    400,
                    f"No such {_OBJECT[name]}: '{after}'",
                    "resource_missing",
                    "starting_after",
                )
            mark = (found["created"], found["id"])
            rows = [r for r in rows if (r["created"], r["id"]) < mark]
        page = rows[:limit]
        body = {"object": "list", "url": f"/v1/{name}", "has_more": len(rows) > limit, "data": page}
        return json_response(200, body, {"Request-Id": f"req_{len(rows):08d}"})

    return list_records


def _compare(value: int, op: str, bound: int) -> bool:
    return {
        "gte": value >= bound,
        "gt": value > bound,
        "lte": value <= bound,
        "lt": value < bound,
    }[op]
