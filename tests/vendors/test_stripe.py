"""The Stripe catalog template against a loopback fake of Stripe's API (fake_stripe.py): the key
as a Bearer token, `Stripe-Version`, `starting_after` pages until `has_more` is false,
`created[gte]` on the second run, and a 429 `rate_limit` on the first request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_stripe import (
    API_VERSION,
    RATE_LIMITED,
    START,
    charges,
    customers,
    stripe_api,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TABLES = ("customers", "charges")
KEY = "rk_test_51Fake0000000000000000000000000000000000000000000000000000000000"


def test_stripe_loads_customers_and_charges_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = customers(150)
    payments = charges(120, customer_count=150)
    api = stripe_api(KEY, {"customers": people, "charges": payments})
    # Stripe documents no Retry-After on its 429: dlt backs off on its own
    api.routes["/v1/customers"] = rate_limited(
        api.routes["/v1/customers"], body=RATE_LIMITED, headers={}
    )

    def new_data() -> None:
        fresh = customers(151)[150]
        fresh["id"], fresh["created"] = "cus_NEW00000000001", START + 200 * 3600
        people.append(fresh)
        paid = charges(121, customer_count=151)[120]
        paid["id"], paid["created"] = "ch_NEW000000000001", START + 201 * 3600
        payments.append(paid)
        api.requests.clear()

    with serve(api):
        # a wrong key: Stripe's 401 error object
        refused = requests.get(
            f"{api.base_url}v1/charges",
            headers={"Authorization": "Bearer sk_test_wrong"},
            timeout=5,
        )
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "invalid_request_error"
        api.requests.clear()
        runs = run_twice(
            "stripe",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"SECRET_KEY": KEY},
            between=new_data,
            answers={"start_unix": str(START)},
        )
    name = runs.name
    # the first request was refused with 429; its retry read the same page
    assert len(api.routes["/v1/customers"].refused) == 1
    assert table_rows(query, name, "customers") == 151
    assert table_rows(query, name, "charges") == 121
    assert all(r.headers.get("stripe-version") == API_VERSION for r in api.requests)
    # the second run asked only for what was created since the largest `created` loaded:
    # one page (has_more false), the boundary customer read again but not loaded twice
    last = START + 149 * 3600
    assert [r.query for r in api.requests_to("/v1/customers")] == [
        {"limit": "100", "created[gte]": str(last)}
    ]
    assert runs.second.materializations[(name, "customers")]["rows_loaded"] == 1
    assert runs.second.materializations[(name, "charges")]["rows_loaded"] == 1
    # PII: emails are salted hashes; names, phones, addresses, card details never land
    expected = hashlib.sha256(b"test-salt" + b"customer3@example.com").hexdigest()
    assert query(f"select email from {name}.customers where id = 'cus_00000000000003'") == [
        (expected,)
    ]
    buyer = hashlib.sha256(b"test-salt" + b"buyer7@example.com").hexdigest()
    assert query(
        f"select billing_details__email, receipt_email from {name}.charges "
        "where id = 'ch_00000000000007'"
    ) == [(buyer, buyer)]
    customer_columns = columns_of(query, name, "customers")
    assert "email" in customer_columns and "currency" in customer_columns
    assert not [
        c for c in customer_columns if c.startswith(("name", "phone", "address", "shipping"))
    ]
    charge_columns = columns_of(query, name, "charges")
    assert {"amount", "customer", "billing_details__email", "outcome__risk_level"} <= charge_columns
    assert not [
        c
        for c in charge_columns
        if "name" in c
        or "phone" in c
        or "address" in c
        or c.startswith(("payment_method_details", "shipping", "receipt_url"))
    ]
    # and no column that looks personal landed without a rule
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in TABLES] == [[], []]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 7
