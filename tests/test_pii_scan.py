"""After real loads no raw PII is anywhere in the warehouse, and hashes join across sources."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.fake_api import serve, stripe_api, stripe_customers

pytestmark = pytest.mark.dagster
TOKEN = "sk_test_pii_scan_token_value"


def _crm_rows(repo: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted((repo / "data/samples/crm").glob("*.csv")):
        rows.extend(csv.DictReader(path.open(encoding="utf-8")))
    return rows


def test_no_raw_pii_lands_and_the_same_email_hashes_alike_everywhere(
    repo: Path, sources_copy: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = _crm_rows(repo)
    customers = stripe_customers(40)
    for customer, person in zip(customers, crm[:40], strict=True):
        customer["email"] = f" {person['email'].strip().upper()} "  # same person, messier export
    monkeypatch.setenv("STRIPE_API_KEY", TOKEN)
    spec = sources_copy / "stripe_customers.yaml"
    with serve(stripe_api(TOKEN, customers)) as api:
        spec.write_text(
            spec.read_text().replace("https://api.stripe.com/v1/", f"{api.base_url}v1/")
        )
        outcome = materialize_sources(
            sources_copy, ["crm_contacts", "webshop_orders", "stripe_customers"]
        )
    assert outcome.success, outcome.failure

    raw_values = {r["email"].strip().lower() for r in crm} | {r["phone"] for r in crm}
    raw_values |= {r["ip_address"] for r in crm} | {c["phone"] for c in customers}
    raw_values |= {c["email"].strip() for c in customers}
    columns = query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type in ('VARCHAR', 'JSON')"
    )
    assert len(columns) > 20
    leaks = []
    for schema, table, column in columns:
        values = query(
            f'select distinct lower(cast("{column}" as varchar)) from {schema}."{table}"'
        )
        leaks += [(schema, table, column) for (v,) in values if v and v.strip() in raw_values]
    assert leaks == []

    assert query(
        "select count(*) from information_schema.columns where column_name = 'ip_address'"
    ) == [(0,)]
    joined = query(
        "select count(distinct s.email) from stripe_customers.customers s "
        "join crm_contacts.contacts c on c.email = s.email"
    )
    assert joined == [(40,)]
    orders_joined = query(
        "select count(*) from webshop_orders.orders o "
        "join crm_contacts.contacts c on c.email = o.customer_email"
    )
    assert orders_joined == query("select count(*) from webshop_orders.orders")
    profiles = query(
        "select count(*) from marts.customer_profiles where list_contains(sources_seen, "
        "'stripe_customers') and list_contains(sources_seen, 'crm_contacts')"
    )
    assert profiles == [(40,)]
