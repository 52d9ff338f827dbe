"""PII rules where data is shaped unusually: lists, nested tables, optional fields, typed SQL
columns, subset runs, and a run killed between extract and load."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest

from pipelines.governance.pii_hashing import hash_value
from tests.fake_api import serve
from tests.pii_fixtures import PII_TOKEN, people, people_api, people_source

pytestmark = pytest.mark.dagster
RULES = """pii:
  hash: [people.attributes.email, people.attributes.phone, people.billing.email,
         people.shipping.phone]
  drop: [people.address, people.attributes.first_name, people.attributes.last_name]"""


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_TOKEN", PII_TOKEN)


def _salt(warehouse_path: Path) -> bytes:
    from pipelines.governance.salt import load_salt
    from pipelines.runtime.warehouse import Warehouse

    return load_salt(Warehouse(warehouse_path).state_dir, create=False)


def _everything(warehouse_path: Path) -> str:
    """Every value of every table, as one text to search."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not like '%staging%'"
        ).fetchall()
        return "\n".join(
            str(con.sql(f'select * from "{schema}"."{table}"').fetchall())
            for schema, table in tables
        )


def _with_lists(count: int) -> list[dict]:
    records = people(count)
    for i, record in enumerate(records):
        record["emails"] = [f"alt{i}@leak-mail.io", f"old{i}@leak-mail.io"]
        record["contacts"] = [{"email": f"friend{i}@leak-mail.io", "role": "partner"}]
    return records


def test_personal_data_inside_lists_is_found_and_refused_in_production(
    tmp_path: Path, materialize_sources, warehouse_path: Path
) -> None:
    with serve(people_api(_with_lists(3))) as api:
        people_source(tmp_path / "sources", api.base_url, stage="production", pii=RULES)
        outcome = materialize_sources(tmp_path / "sources")
    assert not outcome.success
    assert "people.emails looks like personal data (by its values: email)" in outcome.failure
    assert "people.contacts__email looks like personal data (by its values: email)" in (
        outcome.failure
    )
    assert "leak-mail.io" not in (_everything(warehouse_path) if warehouse_path.exists() else "")


def test_rules_reach_inside_lists_that_land_as_nested_tables(
    tmp_path: Path, materialize_sources, query, warehouse_path: Path
) -> None:
    records = _with_lists(3)
    rules = RULES + "\n  keep: {people.contacts.role: a role is not personal}"
    rules = rules.replace("people.shipping.phone]", "people.shipping.phone, people.contacts.email]")
    rules = rules.replace("drop: [", "drop: [people.emails, ")
    with serve(people_api(records)) as api:
        people_source(tmp_path / "sources", api.base_url, stage="production", pii=rules)
        outcome = materialize_sources(tmp_path / "sources")
    assert outcome.success, outcome.failure
    salt = _salt(warehouse_path)
    contacts = query(
        "select c.email, c.role from people_api.people p join people_api.people__contacts c "
        "on c._dlt_parent_id = p._dlt_id order by p.id"
    )
    assert contacts == [
        (hash_value("email", r["contacts"][0]["email"], salt), "partner") for r in records
    ]
    assert "leak-mail.io" not in _everything(warehouse_path)


@pytest.mark.parametrize("reader", ["fast", "rows"])
def test_a_rule_on_a_nested_table_applies_on_every_reader(
    tmp_path: Path, reader: str, materialize_sources, warehouse_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = [
        {"id": i, "contacts": [{"email": f"friend{i}@leak-mail.io", "role": "partner"}]}
        for i in range(3)
    ]
    (drop / "people_1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "people_drop.yaml").write_text(
        f"""name: people_drop
description: nested lists in a file drop
owner: team:marketing-ops
files: {{bucket_url: {drop}, file_glob: "*.jsonl", format: jsonl, table: people, reader: {reader}}}
pii:
  hash: [people__contacts.email]
checks:
  people:
    - {{expect: not_null, column: id}}
"""
    )
    outcome = materialize_sources(sources)
    assert outcome.success, outcome.failure
    text = _everything(warehouse_path)
    assert "leak-mail.io" not in text
    assert hash_value("email", "friend1@leak-mail.io", _salt(warehouse_path)) in text


def test_a_rule_on_an_optional_field_absent_today_does_not_fail_the_load(
    tmp_path: Path, materialize_sources, query
) -> None:
    records = people(3)
    with serve(people_api(records)) as api:
        people_source(tmp_path / "sources", api.base_url, pii=RULES)
        assert materialize_sources(tmp_path / "sources").success
        for record in records:
            del record["shipping"]  # the API leaves out an empty optional object
        outcome = materialize_sources(tmp_path / "sources")
    assert outcome.success, outcome.failure
    assert query("select count(*) from people_api.people") == [(6,)]


def test_a_misspelt_rule_still_fails_after_earlier_loads(
    tmp_path: Path, materialize_sources
) -> None:
    with serve(people_api(people(3))) as api:
        people_source(tmp_path / "sources", api.base_url, pii=RULES)
        assert materialize_sources(tmp_path / "sources").success
        people_source(tmp_path / "sources", api.base_url, pii=RULES + "\n  keep: {people.emial: x}")
        outcome = materialize_sources(tmp_path / "sources")
    assert not outcome.success
    assert "pii.keep rule people.emial matches no column of people" in outcome.failure


def test_typed_sql_columns_are_hashed_as_text_and_dropped_ones_never_created(
    tmp_path: Path,
    materialize_sources,
    query,
    monkeypatch: pytest.MonkeyPatch,
    warehouse_path: Path,
) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table members (id integer primary key, Mobile integer, full_name text)")
        con.executemany(
            "insert into members values (?, ?, ?)",
            [(i, 3331234500 + i, f"Rosalinda Quaglia{i}") for i in range(1, 6)],
        )
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "member_db.yaml").write_text(
        """name: member_db
description: members from a database
owner: team:marketing-ops
sql_database:
  credentials: {secret: MEMBER_DB_URL}
  tables:
    - name: members
      primary_key: id
pii:
  hash: [members.mobile]
  drop: [members.full_name]
checks:
  members:
    - {expect: unique, column: id}
"""
    )
    monkeypatch.setenv("MEMBER_DB_URL", f"sqlite:///{db}")
    outcome = materialize_sources(sources)
    assert outcome.success, outcome.failure
    salt = _salt(warehouse_path)
    assert query("select id, mobile from member_db.members order by id") == [
        (i, hash_value("mobile", 3331234500 + i, salt)) for i in range(1, 6)
    ]
    columns = query(
        "select column_name from information_schema.columns where table_name = 'members'"
    )
    assert ("full_name",) not in columns
    assert "Quaglia" not in _everything(warehouse_path)


def test_a_package_extracted_before_a_kill_never_lands_unchecked(
    tmp_path: Path, materialize_sources, warehouse_path: Path
) -> None:
    """A run killed between extract and the PII check leaves a package; the next run must
    not load it (production, no pii block: it would land raw emails)."""
    from pipelines.runtime.build import build_pipeline, build_source
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    with serve(people_api(people(3))) as api:
        people_source(tmp_path / "sources", api.base_url, stage="production")
        spec = load_registry(tmp_path / "sources").get("people_api").spec
        warehouse = Warehouse(warehouse_path)
        build_pipeline(spec, warehouse).extract(build_source(spec, warehouse, salt=b"s"))
        outcome = materialize_sources(tmp_path / "sources")
    assert not outcome.success
    assert "looks like personal data" in outcome.failure
    assert "Acme-Mail.io" not in (_everything(warehouse_path) if warehouse_path.exists() else "")


def test_nested_personal_data_far_down_an_arrow_batch_is_found(
    tmp_path: Path, materialize_sources, warehouse_path: Path
) -> None:
    """Detection reads the Arrow type and non-empty rows, not just the first rows."""
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = [
        {"id": i, "contacts": [{"email": f"friend{i}@leak-mail.io"}] if i >= 250 else []}
        for i in range(300)
    ]
    (drop / "people_1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "people_drop.yaml").write_text(
        f"""name: people_drop
description: nested lists in a file drop
owner: team:marketing-ops
stage: production
steward: it@acme.io
purpose: Test PII detection
schedule: "0 6 * * *"
freshness_hours: 26
files: {{bucket_url: {drop}, file_glob: "*.jsonl", format: jsonl, table: people}}
checks:
  people:
    - {{expect: not_null, column: id}}
"""
    )
    outcome = materialize_sources(tmp_path / "sources")
    assert not outcome.success
    assert "people.contacts__email looks like personal data (by its values: email)" in (
        outcome.failure
    )
    assert "leak-mail.io" not in (_everything(warehouse_path) if warehouse_path.exists() else "")
