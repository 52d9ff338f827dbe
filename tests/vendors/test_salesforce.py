"""The Salesforce catalog template against a loopback fake of Salesforce's REST API
(tests/vendors/fake_salesforce.py): the OAuth2 refresh-token flow (tests/fake_oauth.py) with
sessions that end mid-run, SOQL batches through `nextRecordsUrl`, `SystemModstamp` in the
WHERE clause, an overloaded server's 503, and the daily limit's 403."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fake_api import serve
from tests.vendors import harness
from tests.vendors.fake_salesforce import API, Salesforce
from tests.vendors.harness import columns_of, run_twice, table_rows

pytestmark = pytest.mark.dagster

CLIENT_ID = "3MVG9fTLmJ60pJ5KZ3nD1hq_oauth.client.id"
CLIENT_SECRET = "E1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F70819"
QUERY = f"{API}/query"


def _token_url_to_fake(monkeypatch: pytest.MonkeyPatch, fake_base: str) -> None:
    """The harness moves base_url's host (the instance) to the fake; the token URL is on
    login.salesforce.com, so move that host too."""
    write = harness.write_from_catalog

    def write_with_login(*args, **kwargs) -> Path:
        path = write(*args, **kwargs)
        fake = urlsplit(fake_base)
        text = path.read_text().replace(
            "https://login.salesforce.com", f"{fake.scheme}://{fake.netloc}"
        )
        path.write_text(text)
        return path

    monkeypatch.setattr(harness, "write_from_catalog", write_with_login)


def test_salesforce_loads_changed_leads_and_contacts_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = Salesforce(CLIENT_ID, CLIENT_SECRET, lead_count=250, contact_count=120)
    org.batch_cap = 100  # Salesforce's batches hold up to 2000; smaller here to see several
    org.overloaded = 1  # the first query is answered 503 SERVER_UNAVAILABLE
    seed = org.oauth.reset(requests_per_token=4)  # sessions end mid-run: 401, refresh, resend
    api = org.api
    last_lead_change = max(r["SystemModstamp"] for r in org.objects["Lead"])

    def new_data() -> None:
        org.objects["Lead"][6]["Status"] = "Working - Contacted"
        org.objects["Lead"][6]["SystemModstamp"] = "2026-02-01T09:30:00.000+0000"
        org.objects["Contact"][2]["HasOptedOutOfEmail"] = True
        org.objects["Contact"][2]["SystemModstamp"] = "2026-02-01T09:45:00.000+0000"
        api.requests.clear()

    with serve(api):
        _token_url_to_fake(monkeypatch, api.base_url)
        runs = run_twice(
            "salesforce",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET, "REFRESH_TOKEN": seed},
            between=new_data,
        )
        name = runs.name
        # the daily API limit: 403 REQUEST_LIMIT_EXCEEDED is not retried; the run fails and
        # what was loaded stays
        org.limit_exceeded = True
        third = materialize_sources(runs.path.parent)
    assert not third.success
    assert "HTTP 403 Forbidden" in (third.failure or "")
    assert "nothing was loaded" in (third.failure or "")
    # the first run's 503 was retried: it was spent, and the run succeeded
    assert org.overloaded == 0
    # OAuth: client id and secret in the form, the seed kept (no rotation); the session that
    # ended mid-run was renewed after its 401, once per run otherwise
    oauth = org.oauth
    assert oauth.refused == [] and oauth.refreshes == 4 and oauth.unauthorized == 1
    assert all(r.form().get("client_secret") == CLIENT_SECRET for r in org.token_requests)
    assert oauth.valid_refresh_tokens == {seed}
    assert table_rows(query, name, "leads") == 250
    assert table_rows(query, name, "contacts") == 120
    # the second run asked only for what changed since the last SystemModstamp loaded, written
    # as SOQL documents datetimes
    since = last_lead_change.replace(".000+0000", "Z")
    second_run = [r for r in api.requests_to(QUERY) if r.query.get("q")][:2]  # then the 403
    leads_q = [r.query["q"] for r in second_run if "FROM Lead" in r.query["q"]]
    assert {q.split("WHERE ")[1] for q in leads_q} == {
        f"SystemModstamp >= {since} ORDER BY SystemModstamp ASC"
    }
    assert runs.second.materializations[(name, "leads")]["rows_loaded"] == 1
    assert runs.second.materializations[(name, "contacts")]["rows_loaded"] == 1
    status = f"select status from {name}.leads where id = '00QQy0000000006AAA'"
    assert query(status) == [("Working - Contacted",)]
    # PII: emails hashed; names, phones and addresses were never asked for
    for table in ("leads", "contacts"):
        columns = columns_of(query, name, table)
        assert "email" in columns
        assert not [c for c in columns if "name" in c or "phone" in c or "street" in c]
    expected = hashlib.sha256(b"test-salt" + b"marco.rossi3@example.com").hexdigest()
    assert query(f"select email from {name}.leads where id = '00QQy0000000003AAA'") == [(expected,)]
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 7
