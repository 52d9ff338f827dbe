"""The bundled HubSpot and Stripe specs, run through Dagster against loopback fakes of the APIs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.fake_api import hubspot_api, hubspot_contacts, serve, stripe_api, stripe_customers

pytestmark = pytest.mark.dagster

TOKEN = "pat-na1-0b5e-test-token-value"


def _point_at(sources: Path, name: str, real_base: str, fake_base: str) -> None:
    path = sources / f"{name}.yaml"
    text = path.read_text()
    assert real_base in text
    path.write_text(text.replace(real_base, fake_base))


def test_hubspot_contacts_arrive_from_every_cursor_page(
    sources_copy: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    contacts = hubspot_contacts(250)
    with serve(hubspot_api(TOKEN, contacts)) as api:
        _point_at(sources_copy, "hubspot_contacts", "https://api.hubapi.com/", api.base_url)
        outcome = materialize_sources(sources_copy, ["hubspot_contacts"])

    assert outcome.success, outcome.failure
    pages = api.requests_to("/crm/v3/objects/contacts")
    assert [r.query.get("after") for r in pages] == [None, "100", "200"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in pages)
    assert all(r.query["properties"].startswith("email,") for r in pages)
    rows = query(
        "select id, properties__email, properties__lifecyclestage "
        "from hubspot_contacts.contacts order by id"
    )
    assert [r[0] for r in rows] == [c["id"] for c in contacts]
    salt = b"test-salt"
    expected_email = hashlib.sha256(salt + b"contact7@example.com").hexdigest()
    assert rows[7][1] == expected_email
    assert outcome.materializations[("hubspot_contacts", "contacts")]["dagster/row_count"] == 250
    assert all(c.passed for c in outcome.checks.values()) and len(outcome.checks) == 2


def test_stripe_customers_follow_has_more_and_starting_after(
    sources_copy: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", TOKEN)
    customers = stripe_customers(230)
    with serve(stripe_api(TOKEN, customers)) as api:
        _point_at(
            sources_copy, "stripe_customers", "https://api.stripe.com/v1/", f"{api.base_url}v1/"
        )
        outcome = materialize_sources(sources_copy, ["stripe_customers"])

    assert outcome.success, outcome.failure
    pages = api.requests_to("/v1/customers")
    assert [r.query.get("starting_after") for r in pages] == [
        None,
        customers[99]["id"],
        customers[199]["id"],
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in pages)
    assert query("select count(*), count(distinct id) from stripe_customers.customers") == [
        (230, 230)
    ]
    assert query("select count(*) from stripe_customers.customers where email like '%@%'") == [(0,)]
    assert {c[-1] for c in outcome.checks} == {"not_null__id", "unique__id", "match_regex__id"}
    assert all(c.passed for c in outcome.checks.values())


def test_missing_token_fails_only_that_source_naming_the_variable(
    sources_copy: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    outcome = materialize_sources(sources_copy, ["stripe_customers", "ad_spend"])
    assert not outcome.success
    assert outcome.failure == (
        "stripe_customers: set the environment variable STRIPE_API_KEY to run this source"
    )
    assert ("ad_spend", "daily_spend") in outcome.materializations
    assert query("select count(*) from ad_spend.daily_spend") == [(186,)]


def test_a_wrong_token_fails_with_the_status_and_never_the_token(
    sources_copy: Path, materialize_sources, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "sk_test_wrong_value_123456"
    monkeypatch.setenv("STRIPE_API_KEY", wrong)
    with serve(stripe_api(TOKEN, stripe_customers(5))) as api:
        _point_at(
            sources_copy, "stripe_customers", "https://api.stripe.com/v1/", f"{api.base_url}v1/"
        )
        outcome = materialize_sources(sources_copy, ["stripe_customers"])
    assert not outcome.success
    assert "401" in outcome.failure
    assert wrong not in outcome.failure
    print("FAILURE:", outcome.failure)
