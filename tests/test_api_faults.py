"""Faults a real API throws at a scheduled run: each is retried to success, or fails the run with
a message a marketer can act on, and a failed run leaves no partial rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fake_api import faulty_paged_api, serve

pytestmark = pytest.mark.dagster
TOKEN = "faults-token-value-123"
RECORDS = [{"id": i, "amount": round(i * 1.5, 2), "kind": "order"} for i in range(1, 251)]

SPEC = """\
name: shop_events
description: Shop events from a flaky API
owner: team:crm
max_concurrent_requests: 1
http: {{timeout_seconds: 0.5, max_attempts: 4, backoff_factor: 0.05, max_retry_delay_seconds: 2}}
retries: {{max_retries: 0}}
contract: {{tables: evolve, columns: evolve, data_type: freeze}}
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: SHOP_TOKEN}}}}
    paginator: {{type: page_number, base_page: 1, page_param: page, total_path: total_pages}}
  resources:
    - name: events
      primary_key: id
      write_disposition: merge
      endpoint: {{path: v1/events, data_selector: data}}
"""


def _run(tmp_path: Path, materialize_sources, faults: dict) -> tuple:
    api = faulty_paged_api(TOKEN, RECORDS, per_page=50, faults=faults)
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    with serve(api):
        (sources / "shop_events.yaml").write_text(SPEC.format(base=api.base_url))
        started = time.monotonic()
        outcome = materialize_sources(sources)
        elapsed = time.monotonic() - started
    return outcome, api, elapsed


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)


@pytest.mark.parametrize(
    ("fault", "page2_attempts"),
    [("429", 2), ("timeout", 2), ("reset", 2)],
)
def test_transient_faults_are_retried_to_success(
    fault: str, page2_attempts: int, tmp_path: Path, materialize_sources, query
) -> None:
    outcome, api, elapsed = _run(tmp_path, materialize_sources, {(2, 1): fault})
    assert outcome.success, outcome.failure
    pages = [int(r.query["page"]) for r in api.requests_to("/v1/events")]
    assert pages.count(2) == page2_attempts
    assert query("select count(*), count(distinct id) from shop_events.events") == [(250, 250)]
    if fault == "429":
        assert elapsed >= 1.0  # Retry-After: 1 was honoured


def test_a_burst_of_500_and_503_is_retried_to_success(
    tmp_path: Path, materialize_sources, query
) -> None:
    faults = {(3, 1): "503", (3, 2): "500", (3, 3): "503"}
    outcome, api, _ = _run(tmp_path, materialize_sources, faults)
    assert outcome.success, outcome.failure
    assert [int(r.query["page"]) for r in api.requests_to("/v1/events")].count(3) == 4
    assert query("select count(*) from shop_events.events") == [(250,)]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "401",
            "HTTP 401 Unauthorized for GET {base}v1/events: the API rejected the credentials; "
            "check SHOP_TOKEN",
        ),
        ("bad_json", "the API answered page data that is not valid JSON"),
        (
            "html",
            "the API answered with an HTML page instead of JSON; the service may be down",
        ),
        (
            "500_forever",
            "HTTP 500 Internal Server Error for GET {base}v1/events: the API kept "
            "failing after all retries; try again later",
        ),
        (
            "retype",
            "schema contract: column 'amount' of table 'events' received text values "
            "instead of double",
        ),
    ],
)
def test_fatal_faults_fail_with_an_actionable_message_and_no_partial_rows(
    fault: str, message: str, tmp_path: Path, materialize_sources, query
) -> None:
    first, _, _ = _run(tmp_path, materialize_sources, {})
    assert first.success, first.failure
    before = query("select * from shop_events.events order by id")
    faults = {(4, n): "500" for n in range(1, 10)} if fault == "500_forever" else {(4, 1): fault}
    outcome, api, _ = _run(tmp_path, materialize_sources, faults)
    assert not outcome.success
    assert message.format(base=api.base_url) in outcome.failure, outcome.failure
    assert TOKEN not in outcome.failure
    # pages 1-3 arrived before the fault, but nothing of this run is visible
    assert query("select * from shop_events.events order by id") == before
