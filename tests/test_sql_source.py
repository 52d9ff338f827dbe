"""An `sql_database` source read from a real SQLite database file through SQLAlchemy."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.dagster


def test_sql_tables_load_with_keys_and_pii(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table accounts (id integer primary key, name text, email text)")
        con.executemany(
            "insert into accounts values (?, ?, ?)",
            [(i, f"Account {i}", f" Owner{i}@Example.com") for i in range(1, 51)],
        )
        con.execute("create table notes (id integer primary key, account_id int, body text)")
        con.executemany(
            "insert into notes values (?, ?, ?)", [(i, i % 50 + 1, "hi") for i in range(120)]
        )
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "crm_database.yaml").write_text(
        """\
name: crm_database
description: Accounts and notes from the CRM's own database
owner: team:marketing-ops
sql_database:
  credentials: {secret: CRM_DB_URL}
  tables:
    - name: accounts
      primary_key: id
    - name: notes
pii:
  hash: [accounts.email]
checks:
  accounts:
    - {expect: unique, column: id}
  notes:
    - {expect: row_count_between, min: 100, max: 200}
"""
    )
    monkeypatch.setenv("CRM_DB_URL", f"sqlite:///{db}")
    outcome = materialize_sources(sources)
    assert outcome.success, outcome.failure
    assert query("select count(*) from crm_database.accounts") == [(50,)]
    assert query("select count(*) from crm_database.notes") == [(120,)]
    expected = hashlib.sha256(b"test-salt" + b"owner7@example.com").hexdigest()
    assert query("select email from crm_database.accounts where id = 7") == [(expected,)]
    assert all(c.passed for c in outcome.checks.values()) and len(outcome.checks) == 2

    # merge on the primary key: a second run updates, never duplicates
    with sqlite3.connect(db) as con:
        con.execute("update accounts set name = 'Renamed' where id = 3")
    assert materialize_sources(sources).success
    assert query("select count(*), max(name) filter (where id = 3) from crm_database.accounts") == [
        (50, "Renamed")
    ]
