"""After real loads no raw PII is anywhere: not in the warehouse, not in the Dagster event log,
not in dlt's pipeline folders; and hashes join across sources."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.fake_api import (
    hubspot_api,
    hubspot_contacts,
    serve,
    stripe_api,
    stripe_customers,
)
from tests.pii_fixtures import (
    PII_TOKEN,
    leads_csv,
    leads_source,
    people,
    people_api,
    people_source,
)

pytestmark = pytest.mark.dagster
TOKEN = "sk_test_pii_scan_token_value"
HUBSPOT_TOKEN = "pat-na1-pii-scan-token"
NESTED_RULES = """pii:
  hash: [people.attributes.email, people.attributes__phone, people.billing.email,
         people.shipping__phone]
  drop: [people.address, people.attributes.first_name, people.attributes.last_name]"""


def _crm_rows(repo: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted((repo / "data/samples/crm").glob("*.csv")):
        rows.extend(csv.DictReader(path.open(encoding="utf-8")))
    return rows


def _point_at(spec: Path, real: str, fake: str) -> None:
    spec.write_text(spec.read_text().replace(real, fake))


def test_no_raw_pii_lands_anywhere_and_the_same_email_hashes_alike_everywhere(
    repo: Path,
    tmp_path: Path,
    sources_copy: Path,
    materialize_sources,
    query,
    warehouse_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagster import DagsterInstance
    from dagster._serdes import serialize_value

    from pipelines.runtime.warehouse import Warehouse

    crm = _crm_rows(repo)
    customers = stripe_customers(40)
    for customer, person in zip(customers, crm[:40], strict=True):
        customer["email"] = f" {person['email'].strip().upper()} "  # same person, messier export
    contacts = hubspot_contacts(30)
    profiles = people(12)
    leads = leads_csv(tmp_path / "drop")
    leads_source(sources_copy, tmp_path / "drop")
    monkeypatch.setenv("STRIPE_API_KEY", TOKEN)
    monkeypatch.setenv("HUBSPOT_TOKEN", HUBSPOT_TOKEN)
    monkeypatch.setenv("PII_TOKEN", PII_TOKEN)
    with (
        serve(stripe_api(TOKEN, customers)) as stripe,
        serve(hubspot_api(HUBSPOT_TOKEN, contacts)) as hubspot,
        serve(people_api(profiles)) as nested,
        DagsterInstance.ephemeral() as instance,
    ):
        _point_at(
            sources_copy / "stripe_customers.yaml",
            "https://api.stripe.com/v1/",
            f"{stripe.base_url}v1/",
        )
        _point_at(
            sources_copy / "hubspot_contacts.yaml", "https://api.hubapi.com/", hubspot.base_url
        )
        people_source(sources_copy, nested.base_url, pii=NESTED_RULES)
        outcome = materialize_sources(sources_copy, instance=instance)
        assert outcome.success, outcome.failure
        event_log = "\n".join(serialize_value(e) for e in instance.all_logs(outcome.result.run_id))

    raw = {r["email"].strip() for r in crm} | {r["phone"] for r in crm}
    raw |= {r["first_name"] for r in crm} | {r["last_name"] for r in crm}
    raw |= {r["ip_address"] for r in crm}
    raw |= {c["phone"] for c in customers} | {c["email"].strip() for c in customers}
    raw |= {
        f"Customer {i}" for i in range(10, 40)
    }  # Stripe names; `Customer 1` is in `Customer 10`
    raw |= {c["properties"]["email"] for c in contacts}
    raw |= {c["properties"]["firstname"] for c in contacts}
    raw |= {c["properties"]["lastname"] for c in contacts}
    for person in profiles:
        raw |= set(person["attributes"].values()) | {person["billing"]["email"]}
        raw |= {person["shipping"]["phone"], person["address"]["line1"]}
    for lead in leads:
        raw |= {lead[k] for k in ("E-Mail", "Phone", "First Name", "Last Name", "IBAN")}
        raw |= {lead["Card Number"]}
    raw = {value for value in raw if value}
    assert len(raw) > 400

    # 1. every text column of every table in the warehouse
    columns = query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type in ('VARCHAR', 'JSON')"
    )
    assert len(columns) > 40
    lowered = {value.lower() for value in raw}
    leaks = []
    for schema, table, column in columns:
        values = query(
            f'select distinct lower(cast("{column}" as varchar)) from "{schema}"."{table}"'
        )
        leaks += [(schema, table, column, v) for (v,) in values if v and v.strip() in lowered]
    assert leaks == []

    # 2. the Dagster event log: metadata, log lines, failure texts
    assert [value for value in raw if value in event_log] == []

    # 3. dlt's pipeline folders: schemas, state, traces and any package left behind
    state = Warehouse(warehouse_path).state_dir
    files = [p for p in state.rglob("*") if p.is_file()]
    files += [p for p in warehouse_path.parent.rglob("*") if p.is_file()]
    found = []
    for path in set(files):
        if path.suffix in (".duckdb", ".wal"):
            continue  # the warehouse itself, scanned above through SQL
        data = path.read_bytes()
        found += [(str(path), v) for v in raw if v.encode() in data]
    assert found == []
    assert any("/pipelines/" in str(p) for p in files)
    # dlt keeps no copy of the loaded data: completed jobs are deleted after each load
    assert [p for p in files if "/completed_jobs/" in str(p)] == []
    assert any("/load/loaded/" in str(p) for p in files)

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
    in_both = query(
        "select count(*) from marts.customer_profiles where list_contains(sources_seen, "
        "'stripe_customers') and list_contains(sources_seen, 'crm_contacts')"
    )
    assert in_both == [(40,)]
