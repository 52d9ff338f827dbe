"""The Typeform catalog template against a loopback fake of Typeform's API (fake_typeform.py):
a Bearer token, forms in numbered pages, one form's questions, its completed responses newest
first through `before` tokens, `since` on the second run, and a 429 on the first request."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.fake_api import serve
from tests.vendors.fake_typeform import (
    FIRST_SUBMIT,
    FORM_ID,
    RATE_LIMITED,
    forms,
    responses,
    stamp,
    typeform_api,
)
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

TOKEN = "tfp_8fakeTokenForTheLoopbackFake0000000000000_3pfake0000000000"
RESPONSES = f"/forms/{FORM_ID}/responses"


def test_typeform_loads_forms_questions_and_responses_incrementally_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 300 completed responses (one page of up to 1000) and 3 partial ones
    answers = responses(300, partial=3)
    api = typeform_api(TOKEN, forms(205), answers)
    # Typeform promises no Retry-After: dlt backs off on its own (1 s here)
    api.routes[RESPONSES] = rate_limited(api.routes[RESPONSES], body=RATE_LIMITED, headers={})
    first_run: list = []

    def new_data() -> None:
        first_run.extend(api.requests)
        fresh = responses(305)[303:]  # past the partial ones' tokens
        for offset, response in enumerate(fresh):
            response["submitted_at"] = stamp(FIRST_SUBMIT + timedelta(days=20, minutes=offset))
        answers.extend(fresh)
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "typeform",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"TOKEN": TOKEN},
            between=new_data,
        )
        second_run = list(api.requests)
        refused = requests.get(f"{api.base_url}forms", timeout=5)
    assert refused.status_code == 401
    assert refused.json()["code"] == "AUTHENTICATION_FAILED"
    name = runs.name
    # the first request was refused with 429; its retry read the same page
    assert len(api.routes[RESPONSES].refused) == 1
    # first run: pages of responses by `before` (the last token of the page) until an empty one
    pages = [r.query for r in first_run if r.path == RESPONSES]
    start = {"page_size": "1000", "completed": "true", "since": "2026-01-01T00:00:00Z"}
    assert pages == [
        start,
        start,  # the retry after the 429
        {**start, "before": answers[0]["token"]},  # the oldest, last on the page
    ]
    assert sorted(r.query["page"] for r in first_run if r.path == "/forms") == ["1", "2"]
    assert table_rows(query, name, "forms") == 205
    assert table_rows(query, name, "questions") == 6
    assert table_rows(query, name, "responses") == 302  # the partial ones are never read
    # second run: only what was submitted since the last submitted_at loaded; that response
    # comes back (since includes its second) and is not loaded twice
    last = stamp(FIRST_SUBMIT + timedelta(minutes=10 * 299))
    assert [r.query for r in second_run if r.path == RESPONSES] == [
        {**start, "since": last},
        {**start, "since": last, "before": answers[299]["token"]},
    ]
    assert runs.second.materializations[(name, "responses")]["rows_loaded"] == 2
    # PII: the email answer is a salted hash; text, phone, hidden fields and referer never land
    expected = hashlib.sha256(b"test-salt" + b"person3@example.com").hexdigest()
    token = answers[3]["token"]
    assert query(
        f"select a.email from {name}.responses__answers a join {name}.responses r "
        f"on a._dlt_parent_id = r._dlt_id where r.response_id = '{token}' and a.type = 'email'"
    ) == [(expected,)]
    answer_columns = columns_of(query, name, "responses__answers")
    assert {"email", "number", "choice__label", "field__id", "type"} <= answer_columns
    assert not {"text", "phone_number"} & answer_columns
    response_columns = columns_of(query, name, "responses")
    assert {"submitted_at", "metadata__platform", "calculated__score"} <= response_columns
    assert not [c for c in response_columns if c.startswith("hidden")]
    assert not {"metadata__referer", "metadata__network_id"} & response_columns
    tables = ("forms", "questions", "responses")
    assert [runs.first.materializations[(name, t)]["pii_unhandled"] for t in tables] == [[], [], []]
    assert all(c.passed for c in runs.second.checks.values()), [
        k for k, c in runs.second.checks.items() if not c.passed
    ]
    assert len(runs.second.checks) == 6
