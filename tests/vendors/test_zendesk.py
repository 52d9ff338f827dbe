"""The Zendesk catalog template against a loopback fake of Zendesk's cursor-based incremental
exports (tests/vendors/fake_zendesk.py): Basic auth with `{email}/token`, `start_time` then
`cursor` pages, `generated_timestamp` as the tickets' cursor, and a 429 with Retry-After."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.fake_api import serve
from tests.vendors.fake_zendesk import DAY, JAN_1, RATE_LIMITED, Zendesk, iso
from tests.vendors.harness import columns_of, rate_limited, run_twice, table_rows

pytestmark = pytest.mark.dagster

EMAIL = "integrations@myshop.com"
TOKEN = "wW2kq9Zr4Hn7Tb1Lx5Vc8Mp3Jd6Fg0Sa"
TICKETS = "/api/v2/incremental/tickets/cursor.json"
USERS = "/api/v2/incremental/users/cursor.json"


def test_zendesk_loads_changed_tickets_and_users_with_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    zendesk = Zendesk(EMAIL, TOKEN, user_count=60, ticket_count=130)
    zendesk.page_size = 50  # Zendesk's pages hold 1000; smaller here to see several
    api = zendesk.api
    api.routes[TICKETS] = rate_limited(
        api.routes[TICKETS], body=RATE_LIMITED, headers={"Retry-After": "1"}
    )
    last_change = max(t["generated_timestamp"] for t in zendesk.tickets)

    def new_data() -> None:
        solved = zendesk.tickets[7]
        solved["status"], solved["generated_timestamp"] = "solved", JAN_1 + 60 * DAY
        fresh = {**zendesk.tickets[0], "id": 9999, "generated_timestamp": JAN_1 + 61 * DAY}
        zendesk.tickets.append(fresh)
        zendesk.users[4]["updated_at"] = iso(JAN_1 + 62 * DAY)
        zendesk.users[4]["role"] = "admin"
        api.requests.clear()

    with serve(api):
        runs = run_twice(
            "zendesk",
            tmp_path,
            api.base_url,
            materialize_sources,
            monkeypatch,
            {"API_TOKEN": TOKEN},
            between=new_data,
            answers={"email": EMAIL},
        )
    name = runs.name
    # the first request was refused with 429 and Retry-After; its retry read the same page
    assert len(api.routes[TICKETS].refused) == 1
    assert table_rows(query, name, "tickets") == 131
    assert table_rows(query, name, "users") == 60
    # tickets: the second run started from the last generated_timestamp loaded, then followed
    # the cursor until an empty page
    asked = api.requests_to(TICKETS)
    assert asked[0].query == {"start_time": str(last_change)}
    assert [set(r.query) for r in asked[1:]] == [{"start_time", "cursor"}]
    assert runs.second.materializations[(name, "tickets")]["rows_loaded"] == 2
    assert query(f"select status from {name}.tickets where id = 5007") == [("solved",)]
    # users: exported from start_unix again (no field start_time could take), only the changed
    # one loaded
    assert api.requests_to(USERS)[0].query == {"start_time": "1767225600"}
    assert runs.second.materializations[(name, "users")]["rows_loaded"] == 1
    assert query(f"select role from {name}.users where id = 360004") == [("admin",)]
    # PII: emails hashed; names, phones, notes, free text and the sender never land
    user_columns = columns_of(query, name, "users")
    assert "email" in user_columns
    assert not user_columns & {"name", "phone", "notes", "details", "alias"}
    ticket_columns = columns_of(query, name, "tickets")
    assert not ticket_columns & {"subject", "raw_subject", "description"}
    assert not [c for c in ticket_columns if c.startswith("via__source")]
    assert {"via__channel", "recipient", "requester_id"} <= ticket_columns
    expected = hashlib.sha256(b"test-salt" + b"customer3@example.com").hexdigest()
    assert query(f"select email from {name}.users where id = 360003") == [(expected,)]
    assert all(c.passed for c in runs.second.checks.values())
    assert len(runs.second.checks) == 7
