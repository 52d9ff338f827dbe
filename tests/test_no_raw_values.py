"""Nothing raw leaves the warehouse (issue 10): check metadata, failure messages and the Dagster
event log hold no raw email, phone, name or API response body, and a pii rule's column cannot
change the `customer_profiles` SQL.

Every test here runs a real Dagster materialization and scans everything the run wrote to its
event log (metadata, failure descriptions, log lines, error infos) and to stderr.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fake_api import FakeApi, Request, json_response, serve

pytestmark = pytest.mark.dagster
TOKEN = "no-raw-values-token-4711"

PEOPLE = [
    # ids 1 and 2 share name and phone; 3 and 4 share a phone; 5 has a malformed email
    {"id": 1, "email": "anna.rossi@example.com", "full_name": "Anna Rossi",
     "phone": "+39 333 1234567", "phone_digits": 393331234567},
    {"id": 2, "email": "anna.r@example.org", "full_name": "Anna Rossi",
     "phone": "+39 333 1234567", "phone_digits": 393331234567},
    {"id": 3, "email": "bruno.verdi@example.net", "full_name": "Bruno Verdi",
     "phone": "+49 30 7654321", "phone_digits": 49307654321},
    {"id": 4, "email": "carla.neri@example.com", "full_name": "Carla Neri",
     "phone": "+49 30 7654321", "phone_digits": 49307654321},
    {"id": 5, "email": "dario.gallo(at)example.it", "full_name": "Dario Gallo",
     "phone": "+41 44 5550199", "phone_digits": 41445550199},
]  # fmt: skip
RAW = sorted(
    {str(p[k]) for p in PEOPLE for k in ("email", "full_name", "phone", "phone_digits")}
    | {"rossi", "verdi", "3331234567", "7654321", "5550199"}
)

# One REST resource; `{params}` adds query parameters to its endpoint.
REST_BLOCK = """\
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: NO_RAW_TOKEN}}}}
  resources:
    - name: people
      primary_key: id
      write_disposition: replace
      endpoint: {{path: v1/people, data_selector: data, paginator: single_page{params}}}
"""
CHECKED_SPEC = (
    """\
name: shop_people
description: People from the shop API (a pilot, PII not classified yet)
owner: team:crm
"""
    + REST_BLOCK
    + """\
checks:
  people:
    - {{expect: unique, column: phone}}
    - {{expect: unique_combination, columns: [full_name, phone]}}
    - {{expect: match_regex, column: email, regex: "^[^@ ]+@[^@ ]+$"}}
    - {{expect: not_match_regex, column: full_name, regex: "^Anna"}}
    - {{expect: in_set, column: phone, values: ["+00 000 0000000"]}}
    - {{expect: value_lengths_between, column: email, max: 10}}
    - {{expect: between, column: phone_digits, max: 100}}
    - {{expect: row_count_between, max: 1}}
"""
)
FAILING_SPEC = (
    """\
name: shop_people
description: People from the shop API
owner: team:crm
retries: {{max_retries: 0}}
http: {{timeout_seconds: 2, max_attempts: 1}}
"""
    + REST_BLOCK
)
QUERY = ", params: {segment: vip, api_key_hint: abc123}"  # must not reach a failure message


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_RAW_TOKEN", TOKEN)


@pytest.fixture
def instance() -> Any:
    """A Dagster instance of our own, so the test can read the whole event log of its run."""
    from dagster import DagsterInstance

    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


class _Stderr:
    """What a test writes to stderr, dlt's own log handler included."""

    def __init__(self, capfd: pytest.CaptureFixture) -> None:
        self._capfd = capfd
        self._moved: list[tuple[Any, Any]] = []

    def start(self) -> None:
        """Point dlt's handler at this test's stderr. dlt keeps one handler per process, bound
        to the stream of the test that first ran dlt; pytest closes that stream afterwards, and
        logging to a closed stream prints a "Logging error" report instead of the record."""
        import logging
        import sys

        for handler in logging.getLogger("dlt").handlers:
            if type(handler) is logging.StreamHandler:  # pytest's capture handlers subclass it
                self._moved.append((handler, handler.stream))
                handler.stream = sys.stderr  # not setStream: it flushes the old stream

    def read(self) -> str:
        return self._capfd.readouterr().err

    def restore(self) -> None:
        for handler, stream in self._moved:
            handler.stream = stream


@pytest.fixture
def stderr(capfd: pytest.CaptureFixture) -> Any:
    """A `_Stderr`: call ``start()`` first in the test (stderr is replaced between phases)."""
    captured = _Stderr(capfd)
    yield captured
    captured.restore()


def _event_log(instance: Any, outcome: Any) -> str:
    """Every event of the run, serialized as Dagster stores it."""
    from dagster import serialize_value

    return "\n".join(serialize_value(e) for e in instance.all_logs(outcome.result.run_id))


def _leaks(text: str, raw: list[str]) -> list[str]:
    """Each raw value found in ``text`` (case-insensitive), with some context."""
    found = []
    for value in raw:
        for match in re.finditer(re.escape(value), text, re.IGNORECASE):
            found.append(f"{value!r}: …{text[max(0, match.start() - 80) : match.end() + 40]}…")
    return found


def _people_api(people: list[dict]) -> FakeApi:
    api = FakeApi(token=TOKEN)
    api.routes["/v1/people"] = lambda request: json_response(200, {"data": people})
    return api


def _write(tmp_path: Path, template: str, base: str, params: str = "") -> Path:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "shop_people.yaml").write_text(template.format(base=base, params=params))
    return sources


def test_failing_checks_on_pii_columns_store_shapes_never_values(
    tmp_path: Path, materialize_sources, instance, stderr
) -> None:
    stderr.start()
    with serve(_people_api(PEOPLE)) as api:
        outcome = materialize_sources(
            _write(tmp_path, CHECKED_SPEC, api.base_url), instance=instance
        )
    assert outcome.success, outcome.failure  # a pilot: failing checks do not fail the run
    checks = {key[-1]: check for key, check in outcome.checks.items()}
    assert {name for name, check in checks.items() if check.passed} == set(), checks
    assert len(checks) == 8

    unique = checks["unique__phone"].metadata
    assert unique["unexpected_count"].value == 4
    assert unique["unexpected_value_shapes"].value == ["+99 999 9999999", "+99 99 9999999"]
    assert checks["unique_combination__full_name__phone"].metadata[
        "unexpected_value_shapes"
    ].value == [{"full_name": "XXXX XXXXX", "phone": "+99 999 9999999"}]
    regex = checks["match_regex__email"].metadata
    assert regex["unexpected_count"].value == 1
    assert regex["unexpected_value_shapes"].value == ["XXXXX.XXXXX(XX)XXXXXXX.XX"]
    between = checks["between__phone_digits"].metadata
    assert between["unexpected_value_shapes"].value[0] == "999999999999"
    assert checks["row_count_between"].metadata["observed_value"].value == "5"
    for check in checks.values():
        assert "unexpected_samples" not in check.metadata

    leaks = _leaks(_event_log(instance, outcome) + stderr.read(), RAW)
    assert leaks == [], "\n".join(leaks)


def _body_route(fault: str):
    body = {
        "error": "invalid token for anna.rossi@example.com",
        "user": {"full_name": "Anna Rossi", "phone": "+39 333 1234567"},
    }

    def route(request: Request):
        if fault in ("401", "403", "400"):
            return json_response(int(fault), body)
        if fault == "html":
            page = (
                b"<html><head><title>Welcome back, Anna Rossi (anna.rossi@example.com)</title>"
                b"</head><body>+39 333 1234567</body></html>"
            )
            return 200, {"Content-Type": "text/html"}, page
        # bad JSON: a body cut off in the middle of a person
        return (
            200,
            {"Content-Type": "application/json"},
            b'{"data": [{"id": 1, "email": "anna.rossi@example.com", "full_name": "Anna Rossi",',
        )

    return route


@pytest.mark.parametrize(
    ("fault", "show_body", "message"),
    [
        (
            "401",
            "true",
            "shop_people: load failed: HTTP 401 Unauthorized for GET {base}v1/people: the API "
            "rejected the credentials; check NO_RAW_TOKEN, and that the auth header has the form "
            "the API documents (a prefix: such as 'Bearer ' is part of it)",
        ),
        (
            "400",
            "false",
            "shop_people: load failed: HTTP 400 Bad Request for GET {base}v1/people: the API "
            "refused the request as malformed; compare the headers it requires (such as an API "
            "version), params and paginator in the source file with the API's documentation",
        ),
        (
            "html",
            "false",
            "shop_people: load failed: the API answered with an HTML page instead of JSON; the "
            "service may be down for maintenance, or base_url may point at a web page instead "
            "of the API",
        ),
        ("bad_json", "false", "shop_people: load failed: the API answered page data that is not"),
    ],
)
def test_a_failed_rest_extract_keeps_the_status_line_never_the_body(
    fault: str,
    show_body: str,
    message: str,
    tmp_path: Path,
    materialize_sources,
    instance,
    monkeypatch: pytest.MonkeyPatch,
    stderr,
) -> None:
    stderr.start()
    # dlt quotes the response body in its HTTPError when this is on; it must not matter
    monkeypatch.setenv("RUNTIME__HTTP_SHOW_ERROR_BODY", show_body)
    api = FakeApi(token=TOKEN)
    api.routes["/v1/people"] = _body_route(fault)
    with serve(api):
        outcome = materialize_sources(
            _write(tmp_path, FAILING_SPEC, api.base_url, QUERY), instance=instance
        )
    assert not outcome.success
    assert outcome.failure.startswith(message.format(base=api.base_url)), outcome.failure
    assert "?" not in outcome.failure and "abc123" not in outcome.failure  # no query string
    log = _event_log(instance, outcome) + stderr.read()
    leaks = _leaks(log, [*RAW, "Welcome back", "invalid token for", TOKEN])
    assert leaks == [], "\n".join(leaks)
    assert "Traceback" in log  # the engineers' trace is still logged, without the data


def test_a_refused_value_never_reaches_the_failure_or_the_log(
    tmp_path: Path, materialize_sources, instance, stderr
) -> None:
    """With frozen data types dlt refuses the row and quotes it; none of that may leave."""
    stderr.start()
    people = [{"id": 1, "score": 1.5}, {"id": 2, "score": 2.5}]
    frozen = FAILING_SPEC + "contract: {{tables: evolve, columns: evolve, data_type: freeze}}\n"
    with serve(_people_api(people)) as api:
        sources = _write(tmp_path, frozen, api.base_url)
        assert materialize_sources(sources, instance=instance).success
        people[:] = [{"id": 3, "score": "+39 333 1234567"}, {"id": 4, "score": "Anna Rossi"}]
        failed = materialize_sources(sources, instance=instance)
    assert not failed.success
    assert "score" in failed.failure and "frozen" in failed.failure, failed.failure
    leaks = _leaks(_event_log(instance, failed) + stderr.read(), RAW)
    assert leaks == [], "\n".join(leaks)


INJECTED = "'injected' as email_hash, 'x' as source --"


def test_a_hostile_pii_column_cannot_change_the_customer_profiles_sql(
    sources_copy: Path, materialize_sources, warehouse_path: Path, instance, query
) -> None:
    """The rule's column is quoted as an identifier: the injected branch does not run."""
    from dagster import materialize

    from assets.factory import definitions_for_sources
    from assets.marts.customer_profiles import MART_KEY
    from pipelines.spec.registry import load_registry

    loaded = materialize_sources(sources_copy, ["crm_contacts", "webshop_orders"])
    assert loaded.success, loaded.failure
    registry = load_registry(sources_copy, reserved_names={warehouse_path.stem})
    chosen = [s for s in registry.sources if s.name in ("crm_contacts", "webshop_orders")]
    crm = next(s for s in chosen if s.name == "crm_contacts")
    # built past validation, as if a rule had slipped through: the SQL must hold on its own
    pii = crm.spec.pii.model_construct(hash=[*crm.spec.pii.hash, f"contacts.{INJECTED}"], drop=[])
    spec = crm.spec.model_copy(update={"pii": pii})
    chosen[chosen.index(crm)] = dataclasses.replace(crm, spec=spec)
    defs = definitions_for_sources(chosen, warehouse_path)
    mart = next(a for a in defs.assets if MART_KEY in a.keys)
    result = materialize([mart], resources=defs.resources, instance=instance, raise_on_error=False)
    assert result.success
    assert query("select count(*) from marts.customer_profiles where email_hash = 'injected'") == [
        (0,)
    ]
    assert query("select count(*) from marts.customer_profiles") == [(400,)]
    assert "left out" in "\n".join(str(e.user_message) for e in instance.all_logs(result.run_id))


# Fast checks of the rules themselves, without a run.


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("+39 333 1234567", "+99 999 9999999"),
        ("7 EUR", "9 XXX"),
        ("anna.rossi@example.com", "XXXX.XXXXX@XXXXXXX.XXX"),
        ("Zoë\tMüller", "XXX XXXXXX"),
        (393331234567, "999999999999"),
        (None, "null"),
        ("x" * 50, "X" * 40 + "…"),
    ],
)
def test_value_shape(value: Any, shape: str) -> None:
    from pipelines.runtime.value_errors import value_shape

    assert value_shape(value) == shape


@pytest.mark.parametrize(
    ("message", "scrubbed"),
    [
        (
            "Conversion Error: Could not convert string '+39 333 1234567' to INT64\nLINE 1: x",
            "Conversion Error: Could not convert string '+99 999 9999999' to INT64",
        ),
        (
            'invalid input syntax for type bigint: "Anna Rossi"',
            'invalid input syntax for type bigint: "XXXX XXXXX"',
        ),
        (
            "401 Client Error: Unauthorized for url: https://api.example.com/v1/people\n"
            'Response: {"email": "anna.rossi@example.com"}',
            "401 Client Error: Unauthorized for url: https://api.example.com/v1/people",
        ),
        (
            "Contract on `data_type` is violated. Offending data item: id: Anna Rossi",
            "Contract on `XXXX_XXXX` is violated.",
        ),
        (
            "no match for anna@example.com or 393331234567",
            "no match for XXXX@XXXXXXX.XXX or 999999999999",
        ),
    ],
)
def test_scrub_message(message: str, scrubbed: str) -> None:
    from pipelines.runtime.value_errors import scrub_message

    assert scrub_message(message) == scrubbed


def test_the_status_line_keeps_no_query_credentials_or_server_text() -> None:
    import requests

    from pipelines.runtime.failures import explain_load_failure
    from pipelines.spec.models import SourceSpec

    response = requests.Response()
    response.status_code = 401
    response.reason = "Token of anna.rossi@example.com expired"  # the server's own words
    response.url = "https://user:pw@api.example.com/v1/people?email=anna.rossi@example.com#x"
    response.request = requests.Request("GET", response.url).prepare()
    response._content = b'{"email": "anna.rossi@example.com"}'
    spec = SourceSpec.model_validate(
        {
            "name": "shop_people",
            "description": "d",
            "owner": "team:x",
            "rest_api": {"resources": []},
        }
    )
    error = requests.HTTPError("401 Client Error\nResponse: " + response.text, response=response)
    assert explain_load_failure(error, spec) == (
        "HTTP 401 Unauthorized for GET https://api.example.com/v1/people: the API rejected the "
        "credentials; check the credentials, and that the auth header has the form the API "
        "documents (a prefix: such as 'Bearer ' is part of it)"
    )


def test_the_logged_traceback_keeps_frames_and_scrubs_every_message() -> None:
    from pipelines.runtime.failures import loggable_traceback
    from pipelines.spec.models import SourceSpec

    spec = SourceSpec.model_validate(
        {
            "name": "shop_people",
            "description": "d",
            "owner": "team:x",
            "rest_api": {"resources": []},
        }
    )
    name, email = PEOPLE[0]["full_name"], PEOPLE[0]["email"]  # source lines are shown as is
    try:
        try:
            raise ValueError(f"Could not convert string '{name}' to DOUBLE")
        except ValueError as inner:
            raise RuntimeError(f"401 Client Error\nResponse: {email}") from inner
    except RuntimeError as exc:
        logged = loggable_traceback(exc, spec)
    assert "Anna Rossi" not in logged and "anna.rossi" not in logged
    assert "ValueError: Could not convert string 'XXXX XXXXX' to DOUBLE" in logged
    assert "RuntimeError: 401 Client Error\n" in logged  # the body after it is cut
    assert "The above exception was the direct cause" in logged
    assert logged.count("test_the_logged_traceback_keeps_frames_and_scrubs_every_message") == 2


def test_render_sql_quotes_every_name_from_yaml() -> None:
    import duckdb

    from assets.marts.customer_profiles import EmailColumn, render_sql

    hostile = 'e"mail; drop table crm_contacts.contacts; --'
    sql = render_sql([EmailColumn("crm_contacts", "contacts", hostile)])
    assert '"e""mail; drop table crm_contacts.contacts; --" as email_hash' in sql
    with duckdb.connect() as con:
        con.execute("create schema crm_contacts; create schema webshop_orders; create schema marts")
        con.execute(
            f"create table crm_contacts.contacts (email varchar, created_at timestamp, "
            f'"{hostile.replace(chr(34), chr(34) * 2)}" varchar)'
        )
        con.execute(
            "create table webshop_orders.orders (customer_email varchar, ordered_at timestamp, "
            "total_amount double, status varchar)"
        )
        con.execute(
            "insert into crm_contacts.contacts values ('a', now(), 'h1'), ('b', now(), null)"
        )
        con.execute(sql)
        assert con.sql("select email_hash from marts.customer_profiles").fetchall() == [("h1",)]
        assert con.sql("select count(*) from crm_contacts.contacts").fetchone() == (2,)


def test_a_check_outcome_holds_shapes_statistics_and_a_scrubbed_error_only() -> None:
    from types import SimpleNamespace

    from pipelines.spec.checks import BetweenCheck, RowCountBetweenCheck, UniqueCombinationCheck
    from quality.runner import _outcome

    between = BetweenCheck(expect="between", column="phone_digits", max=100)
    raised = SimpleNamespace(
        success=False,
        result={"observed_value": 393331234567},  # not a statistic: dropped
        exception_info={
            "raised_exception": True,
            "exception_message": "Could not convert string 'Anna Rossi' to DOUBLE",
        },
    )
    outcome = _outcome("people", between, raised)
    assert outcome.error == "Could not convert string 'XXXX XXXXX' to DOUBLE"
    assert outcome.observed_value is None and not outcome.passed

    pair = UniqueCombinationCheck(expect="unique_combination", columns=["full_name", "phone"])
    rows = [{"full_name": p["full_name"], "phone": p["phone"]} for p in PEOPLE] * 3
    failed = SimpleNamespace(
        success=False,
        result={"unexpected_count": 15, "partial_unexpected_list": rows},
        exception_info={},
    )
    shapes = _outcome("people", pair, failed).value_shapes
    assert shapes == [
        {"full_name": "XXXX XXXXX", "phone": "+99 999 9999999"},
        {"full_name": "XXXXX XXXXX", "phone": "+99 99 9999999"},
        {"full_name": "XXXXX XXXX", "phone": "+99 99 9999999"},
    ]
    count = RowCountBetweenCheck(expect="row_count_between", max=1)
    counted = SimpleNamespace(success=False, result={"observed_value": 5}, exception_info={})
    assert _outcome("people", count, counted).observed_value == 5
