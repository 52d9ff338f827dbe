"""API records on the fast path: Arrow pages, concurrent fetching within a bound, nested data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_api import events, paged_api, serve

pytestmark = pytest.mark.dagster
TOKEN = "evt-token-for-tests"

SPEC = """\
name: email_events
description: Email events from the ESP
owner: team:crm
max_concurrent_requests: {workers}
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: ESP_TOKEN}}}}
    paginator:
      type: page_number
      base_page: 1
      page_param: page
      total_path: total_pages
  resource_defaults:
    primary_key: id
    write_disposition: merge
  resources:
    - name: events
      endpoint:
        path: v1/events
        data_selector: data
        params: {{per_page: 50}}
pii:
  hash: [events.email]
checks:
  events:
    - {{expect: unique, column: id}}
"""


def _write(folder: Path, base: str, workers: int) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "email_events.yaml").write_text(SPEC.format(base=base, workers=workers))
    return folder


def test_concurrent_pages_return_every_record_once_within_the_bound(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESP_TOKEN", TOKEN)
    records = events(1030)  # 21 pages of 50, the last one short
    api, in_flight = paged_api(TOKEN, records, per_page=50, delay=0.03)
    with serve(api):
        outcome = materialize_sources(_write(tmp_path / "sources", api.base_url, workers=3))
    assert outcome.success, outcome.failure
    pages = sorted(int(r.query["page"]) for r in api.requests_to("/v1/events"))
    assert pages == list(range(1, 22))  # each page exactly once
    assert 2 <= in_flight.most <= 3  # really concurrent, never above the bound
    assert query(
        "select count(*), count(distinct id), min(id), max(id) from email_events.events"
    ) == [(1030, 1030, 0, 1029)]
    # as dlt lands them: nested object -> parent__child columns, list -> nested table
    row = query(
        "select e.campaign__id, e.campaign__channel, t.value, length(e.email) "
        "from email_events.events e join email_events.events__tags t "
        "on t._dlt_parent_id = e._dlt_id and t._dlt_list_idx = 1 where e.id = 8"
    )
    assert row == [("cmp_1", "email", "wave0", 64)]


def test_one_worker_fetches_sequentially(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESP_TOKEN", TOKEN)
    api, in_flight = paged_api(TOKEN, events(120), per_page=50, delay=0.01)
    with serve(api):
        outcome = materialize_sources(_write(tmp_path / "sources", api.base_url, workers=1))
    assert outcome.success, outcome.failure
    assert in_flight.most == 1
    assert [int(r.query["page"]) for r in api.requests_to("/v1/events")] == [1, 2, 3]
    assert query("select count(*) from email_events.events") == [(120,)]
