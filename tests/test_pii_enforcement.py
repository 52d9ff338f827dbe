"""PII rules are enforced where data lands: on landed names, nested columns included, and a
rule that misses or a personal column without a rule stops the load (fail closed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.governance.pii_hashing import hash_value
from tests.conftest import isolated_env
from tests.fake_api import serve
from tests.pii_fixtures import (
    PII_TOKEN,
    leads_csv,
    leads_source,
    people,
    people_api,
    people_source,
)

pytestmark = pytest.mark.dagster
RECORDS = people(4)


@pytest.fixture(scope="module")
def api():
    """One loopback API for the module."""
    with serve(people_api(RECORDS)) as running:
        yield running


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_TOKEN", PII_TOKEN)


def _salt(warehouse_path: Path) -> bytes:
    from pipelines.governance.salt import load_salt
    from pipelines.runtime.warehouse import Warehouse

    return load_salt(Warehouse(warehouse_path).state_dir, create=False)


def _tables(warehouse_path: Path) -> set[str]:
    if not warehouse_path.exists():
        return set()
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.sql("select table_schema || '.' || table_name from information_schema.tables")
        return {name for (name,) in rows.fetchall()}


def test_rules_on_nested_objects_cover_their_children_in_both_spellings(
    tmp_path: Path, api, materialize_sources, query, warehouse_path: Path
) -> None:
    pii = """pii:
  hash: [people.attributes.email, people.billing__email, people.shipping.phone,
         people.attributes__phone]
  drop: [people.address, people.attributes.first_name, people.attributes__last_name]"""
    people_source(tmp_path / "sources", api.base_url, pii=pii)
    outcome = materialize_sources(tmp_path / "sources")
    assert outcome.success, outcome.failure

    columns = {
        c
        for (c,) in query(
            "select column_name from information_schema.columns where table_name = 'people'"
        )
    }
    assert not {c for c in columns if c.startswith("address")}
    assert not {"attributes__first_name", "attributes__last_name"} & columns
    salt = _salt(warehouse_path)
    rows = query(
        "select attributes__email, billing__email, shipping__phone, attributes__phone "
        "from people_api.people order by id"
    )
    assert rows == [
        (
            hash_value("email", r["attributes"]["email"], salt),
            hash_value("email", r["billing"]["email"], salt),
            hash_value("phone", r["shipping"]["phone"], salt),
            hash_value("phone", r["attributes"]["phone"], salt),
        )
        for r in RECORDS
    ]
    assert outcome.materializations[("people_api", "people")]["pii_unhandled"] == []


def test_a_rule_that_matches_no_column_fails_before_anything_lands(
    tmp_path: Path, api, materialize_sources, warehouse_path: Path
) -> None:
    pii = """pii:
  hash: [people.email, people.attributes.phone, people.billing.email, people.shipping.phone]
  drop: [people.address, people.attributes.first_name, people.attributes.last_name]"""
    people_source(tmp_path / "sources", api.base_url, pii=pii)
    outcome = materialize_sources(tmp_path / "sources")
    assert not outcome.success
    assert (
        "pii.hash rule people.email matches no column of people; did you mean "
        "people.attributes__email?" in outcome.failure
    )
    assert (
        "its columns are: address, attributes__email, attributes__first_name, "
        "attributes__last_name," in outcome.failure
    )
    assert "Person0@Acme-Mail.io" not in outcome.failure
    assert "people_api.people" not in _tables(warehouse_path)


def test_a_production_source_with_an_unhandled_email_lands_nothing(
    tmp_path: Path, api, materialize_sources, warehouse_path: Path
) -> None:
    people_source(tmp_path / "sources", api.base_url, stage="production")
    outcome = materialize_sources(tmp_path / "sources")
    assert not outcome.success
    assert (
        "people.attributes__email looks like personal data (by its values: email) but no pii "
        "rule covers it" in outcome.failure
    )
    assert "people.address__line1 looks like personal data (by its name: address)" in (
        outcome.failure
    )
    assert not {t for t in _tables(warehouse_path) if t.startswith("people_api.")}


@pytest.mark.parametrize("reader", ["fast", "rows"])
def test_rules_match_headers_whatever_their_case(
    tmp_path: Path, reader: str, materialize_sources, query, warehouse_path: Path
) -> None:
    rows = leads_csv(tmp_path / "drop")
    leads_source(tmp_path / "sources", tmp_path / "drop", reader=reader)
    outcome = materialize_sources(tmp_path / "sources")
    assert outcome.success, outcome.failure
    salt = _salt(warehouse_path)
    assert query("select lead_id, phone, e_mail from lead_drop.leads order by lead_id") == [
        (
            int(r["Lead ID"]),
            hash_value("phone", r["Phone"], salt),
            hash_value("e_mail", r["E-Mail"], salt),
        )
        for r in rows
    ]
    columns = {
        c
        for (c,) in query(
            "select column_name from information_schema.columns where table_name = 'leads'"
        )
    }
    assert not {"first_name", "last_name", "iban", "card_number"} & columns


def _cli(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = isolated_env(tmp_path, PII_TOKEN=PII_TOKEN)
    return subprocess.run(
        [str(repo / ".venv/bin/sourcegate"), *args, "--sources", str(tmp_path / "sources")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_pilot_warns_in_the_run_and_preview_masks_and_says_what_to_add(
    repo: Path, tmp_path: Path, api
) -> None:
    pii = "pii:\n  keep:\n    people.plan: the customer's tier, not personal"
    people_source(tmp_path / "sources", api.base_url, pii=pii)

    preview = _cli(repo, tmp_path, "preview", "people_api")
    assert preview.returncode == 0, preview.stderr
    out = preview.stdout
    assert "masked, as personal data with no rule: " in out
    assert "attributes__email=***" in out
    for raw in ("Person0@Acme-Mail.io", "+39 333 1234500", "Giulietta0", "Via Verdi 0"):
        assert raw not in out
    assert "people.attributes__email: by its values: email" in out
    assert "  hash: [people.attributes__email, people.billing__email]" in out
    assert "attributes__first_name" not in out.split("suggested checks")[-1]
    assert "people.attributes__first_name" in out.split("pii:")[-1]

    run = _cli(repo, tmp_path, "run", "people_api")
    assert run.returncode == 0, run.stderr
    assert "WARNING: 9 personal column(s) with no pii rule" in run.stdout
    assert "people_api: warning: people.attributes__email looks like personal data" in run.stdout
    assert "people.plan" not in run.stdout  # kept on purpose


def test_keep_is_shown_by_plan(repo: Path, tmp_path: Path) -> None:
    from pipelines.cli.plan import _summary
    from pipelines.spec.models import SourceSpec

    spec = SourceSpec.model_validate(
        {
            "name": "kept",
            "description": "kept columns",
            "owner": "team:x",
            "files": {"bucket_url": "data/samples/crm", "format": "csv", "table": "contacts"},
            "pii": {"keep": {"contacts.country": "a country is not personal"}},
        }
    )
    assert "PII kept in clear: contacts.country (a country is not personal)" in _summary(spec)


MEMBERS = [{"id": f"m{i}", "email": f"member{i}@acme-mail.io"} for i in range(3)]
PARENT_CHILD = """name: member_orders
description: Members and their orders (a parent and a child resource)
owner: team:marketing-ops
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: PII_TOKEN}}}}
  resources:
    - name: members
      endpoint: {{path: members, data_selector: data}}
    - name: orders
      endpoint: {{path: "members/{{resources.members.id}}/orders", data_selector: data}}
      include_from_parent: [email]
pii:
  hash: [{hashed}]
checks:
  members:
    - {{expect: not_null, column: id}}
"""


@pytest.fixture(scope="module")
def members_api():
    """`/members` and `/members/<id>/orders`, as a parent/child API does."""
    from tests.fake_api import FakeApi, json_response

    api = FakeApi(token=PII_TOKEN)
    api.routes["/members"] = lambda request: json_response(200, {"data": MEMBERS})
    for member in MEMBERS:
        orders = [{"order": f"{member['id']}-{n}", "total": n} for n in range(2)]
        api.routes[f"/members/{member['id']}/orders"] = lambda request, o=orders: json_response(
            200, {"data": o}
        )
    with serve(api) as running:
        yield running


def test_a_child_resource_reads_its_parent_unhashed_while_both_tables_land_hashed(
    tmp_path: Path, members_api, materialize_sources, query, warehouse_path: Path
) -> None:
    text = PARENT_CHILD.format(
        base=members_api.base_url, hashed="members.email, orders._members_email"
    )
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "member_orders.yaml").write_text(text)
    outcome = materialize_sources(tmp_path / "sources")
    assert outcome.success, outcome.failure
    paths = sorted(r.path for r in members_api.requests if r.path.endswith("/orders"))
    assert paths == [f"/members/m{i}/orders" for i in range(3)]
    salt = _salt(warehouse_path)
    assert query("select id, email from member_orders.members order by id") == [
        (m["id"], hash_value("email", m["email"], salt)) for m in MEMBERS
    ]
    assert query("select count(*), count(distinct _members_email) from member_orders.orders") == [
        (6, 3)
    ]
    raw = {m["email"] for m in MEMBERS}
    assert not raw & {e for (e,) in query("select _members_email from member_orders.orders")}


def test_a_rule_on_a_field_a_child_reads_is_refused_by_validate(tmp_path: Path) -> None:
    from pipelines.spec.registry import load_source_file

    path = tmp_path / "member_orders.yaml"
    path.write_text(PARENT_CHILD.format(base="https://api.acme.io/", hashed="members.id"))
    messages = [e.message for e in load_source_file(path).errors]
    assert any(
        "pii.hash rule members.id covers members.id, which a child resource reads" in m
        for m in messages
    ), messages


def test_one_table_of_a_multi_table_source_materializes_alone(
    tmp_path: Path, members_api, materialize_sources, query
) -> None:
    from dagster import AssetKey

    text = PARENT_CHILD.format(base=members_api.base_url, hashed="members.email")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "member_orders.yaml").write_text(text)
    outcome = materialize_sources(
        tmp_path / "sources", selection=[AssetKey(["member_orders", "members"])]
    )
    assert outcome.success, outcome.failure
    assert list(outcome.materializations) == [("member_orders", "members")]
    assert query("select count(*) from member_orders.members") == [(3,)]


def test_a_child_url_holding_a_parent_value_never_reaches_logs_or_dlt_folders(
    tmp_path: Path, materialize_sources, warehouse_path: Path
) -> None:
    from dagster import DagsterInstance
    from dagster._serdes import serialize_value

    from tests.fake_api import FakeApi, json_response

    api = FakeApi(token=PII_TOKEN)
    api.routes["/members"] = lambda request: json_response(
        200, {"data": [{"id": "m1", "email": "anna.leak@acme-mail.io"}]}
    )
    child = PARENT_CHILD.replace(
        "members/{{resources.members.id}}/orders", "members/{{resources.members.email}}/orders"
    ).replace("  hash: [{hashed}]", "  keep: {{members.email: {hashed}}}")
    with serve(api) as running, DagsterInstance.ephemeral() as instance:
        (tmp_path / "sources").mkdir()
        (tmp_path / "sources" / "member_orders.yaml").write_text(
            child.format(base=running.base_url, hashed="the API addresses members by email")
        )
        outcome = materialize_sources(tmp_path / "sources", instance=instance)
        log = "\n".join(serialize_value(e) for e in instance.all_logs(outcome.result.run_id))
    assert not outcome.success
    assert "404 Not Found for GET" in outcome.failure
    assert "anna.leak" not in log
    folder = warehouse_path.parent
    assert not [
        p
        for p in folder.rglob("*")
        if p.is_file() and b"anna.leak" in p.read_bytes() and p.suffix != ".duckdb"
    ]
