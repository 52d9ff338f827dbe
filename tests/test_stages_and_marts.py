"""Pilot vs production: blocking checks stop `customer_profiles` in production, not in pilot."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines.spec.registry import load_source_file

pytestmark = pytest.mark.dagster


def _break_crm_sample(repo: Path, tmp_path: Path, sources: Path, stage: str) -> None:
    """Point crm_contacts at a copy of its export with 2 unknown lifecycle stages."""
    drop = tmp_path / "crm_drop"
    drop.mkdir()
    for source_file in sorted((repo / "data/samples/crm").glob("*.csv")):
        rows = list(csv.DictReader(source_file.open()))
        if source_file.name.endswith("01.csv"):
            rows[0]["lifecycle_stage"] = rows[1]["lifecycle_stage"] = "prospect"
        with (drop / source_file.name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    spec = sources / "crm_contacts.yaml"
    text = spec.read_text().replace("bucket_url: data/samples/crm", f"bucket_url: {drop}")
    spec.write_text(text.replace("stage: production", f"stage: {stage}"))


def test_customer_profiles_joins_contacts_and_orders(
    sources_copy: Path, materialize_sources, query
):
    outcome = materialize_sources(sources_copy, ["crm_contacts", "webshop_orders"])
    assert outcome.success, outcome.failure
    mart = outcome.materializations[("marts", "customer_profiles")]
    assert mart["sources_used"] == ["crm_contacts", "webshop_orders"]
    # every CRM contact is one row; orders only ever come from CRM people in the samples
    assert query("select count(*), count(distinct email_hash) from marts.customer_profiles") == [
        (400, 400)
    ]
    expected = query(
        "select count(*), round(sum(total_amount) filter (where status in ('paid','shipped')), 2) "
        "from webshop_orders.orders"
    )
    got = query("select sum(order_count), round(sum(revenue), 2) from marts.customer_profiles")
    assert got == expected
    both = query(
        "select count(*) from marts.customer_profiles "
        "where sources_seen = ['crm_contacts', 'webshop_orders']::varchar[]"
    )[0][0]
    assert 0 < both < 400
    assert outcome.checks[("marts", "customer_profiles", "unique__email_hash")].passed


def test_a_failing_blocking_check_in_production_stops_customer_profiles(
    repo: Path, tmp_path: Path, sources_copy: Path, materialize_sources, query
):
    _break_crm_sample(repo, tmp_path, sources_copy, "production")
    outcome = materialize_sources(sources_copy, ["crm_contacts", "webshop_orders"])
    check = outcome.checks[("crm_contacts", "contacts", "in_set__lifecycle_stage")]
    assert not check.passed and check.metadata["unexpected_count"].value == 2
    assert not outcome.success
    assert ("marts", "customer_profiles") not in outcome.materializations
    marts = "select count(*) from information_schema.tables where table_schema = 'marts'"
    assert query(marts) == [(0,)]


def test_the_same_failure_in_pilot_does_not_block(
    repo: Path, tmp_path: Path, sources_copy: Path, materialize_sources
):
    _break_crm_sample(repo, tmp_path, sources_copy, "pilot")
    outcome = materialize_sources(sources_copy, ["crm_contacts", "webshop_orders"])
    assert not outcome.checks[("crm_contacts", "contacts", "in_set__lifecycle_stage")].passed
    assert outcome.success
    assert ("marts", "customer_profiles") in outcome.materializations


def test_production_lists_every_missing_requirement(tmp_path: Path) -> None:
    path = tmp_path / "events_leads.yaml"
    path.write_text(
        "name: events_leads\ndescription: Leads from fairs\nowner: team:events\n"
        "stage: production\nfiles:\n  bucket_url: data/drop\n  format: csv\n  table: leads\n"
    )
    messages = [e.message for e in load_source_file(path).errors]
    assert [m.split(" (")[0].removeprefix("production sources need ") for m in messages] == [
        "a steward",
        "a purpose",
        "a schedule",
        "freshness_hours",
        "at least one error-severity check on every table; add one under checks: leads:",
    ]
