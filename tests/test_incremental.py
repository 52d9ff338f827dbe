"""Incremental loads: a second run with nothing new fetches nothing new; changes merge, never
duplicate. Proven by counting the requests an API gets and the files a drop has read."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.fake_api import FakeApi, Request, json_response, serve

pytestmark = pytest.mark.dagster

FILES_SPEC = """\
name: member_drop
description: Members exported as daily CSV files
owner: team:crm
files:
  bucket_url: {drop}
  file_glob: "members_*.csv"
  format: csv
  table: members
  primary_key: member_id
"""


def _csv(path: Path, rows: list[tuple[int, str]], mtime: float) -> None:
    path.write_text("member_id,tier\n" + "".join(f"{i},{t}\n" for i, t in rows))
    os.utime(path, (mtime, mtime))


def test_files_load_only_new_or_changed_files(tmp_path: Path, materialize_sources, query) -> None:
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    sources.mkdir()
    (sources / "member_drop.yaml").write_text(FILES_SPEC.format(drop=drop))
    now = time.time() - 1000
    _csv(drop / "members_1.csv", [(i, "silver") for i in range(1, 101)], now)
    _csv(drop / "members_2.csv", [(i, "bronze") for i in range(101, 201)], now + 1)

    first = materialize_sources(sources)
    assert first.success, first.failure
    assert first.materializations[("member_drop", "members")]["files_read"] == [
        "members_1.csv",
        "members_2.csv",
    ]

    second = materialize_sources(sources)
    assert second.success, second.failure
    assert second.materializations[("member_drop", "members")]["files_read"] == []
    assert query("select count(*) from member_drop.members") == [(200,)]

    _csv(
        drop / "members_1.csv",
        [(i, "gold" if i <= 5 else "silver") for i in range(1, 101)],
        now + 10,
    )
    _csv(drop / "members_3.csv", [(i, "new") for i in range(201, 211)], now + 11)
    third = materialize_sources(sources)
    assert third.success, third.failure
    assert third.materializations[("member_drop", "members")]["files_read"] == [
        "members_1.csv",
        "members_3.csv",
    ]
    assert query("select count(*), count(distinct member_id) from member_drop.members") == [
        (210, 210)
    ]
    assert query("select count(*) from member_drop.members where tier = 'gold'") == [(5,)]


REST_SPEC = """\
name: crm_updates
description: Contacts changed since the last run
owner: team:crm
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: CRM_TOKEN}}}}
    paginator: {{type: page_number, base_page: 1, page_param: page, total_path: total_pages}}
  resources:
    - name: contacts
      primary_key: id
      write_disposition: merge
      endpoint:
        path: v1/contacts
        data_selector: data
        params:
          per_page: 40
          updated_since:
            type: incremental
            cursor_path: updated_at
            initial_value: "2026-01-01T00:00:00Z"
"""


def test_rest_incremental_cursor_fetches_only_changes(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "crm-token-123")
    contacts = [
        {"id": i, "name": f"c{i}", "updated_at": f"2026-02-{1 + i % 28:02d}T10:00:00Z"}
        for i in range(1, 101)
    ]
    api = FakeApi(token="crm-token-123")

    def list_contacts(request: Request):
        since = request.query["updated_since"]
        size, page = int(request.query["per_page"]), int(request.query.get("page", 1))
        changed = [c for c in contacts if c["updated_at"] > since]
        chunk = changed[(page - 1) * size : page * size]
        return json_response(200, {"data": chunk, "total_pages": max(1, -(-len(changed) // size))})

    api.routes["/v1/contacts"] = list_contacts
    sources = tmp_path / "sources"
    sources.mkdir()
    with serve(api):
        (sources / "crm_updates.yaml").write_text(REST_SPEC.format(base=api.base_url))
        assert materialize_sources(sources).success
        first = len(api.requests)
        second = materialize_sources(sources)
        assert second.success, second.failure
        requests_second = api.requests[first:]
        contacts[4]["name"], contacts[4]["updated_at"] = "renamed", "2026-03-01T00:00:00Z"
        third = materialize_sources(sources)
    assert first == 3  # 100 contacts, 40 per page
    assert [r.query["updated_since"] for r in requests_second] == ["2026-02-28T10:00:00Z"]
    assert "rows_loaded" not in second.materializations[("crm_updates", "contacts")] or (
        second.materializations[("crm_updates", "contacts")]["rows_loaded"] == 0
    )
    assert third.success, third.failure
    assert query("select count(*), count(distinct id) from crm_updates.contacts") == [(100, 100)]
    assert query("select name from crm_updates.contacts where id = 5") == [("renamed",)]


def test_sql_cursor_reads_only_new_rows(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table orders (id integer primary key, total real, updated_at text)")
        con.executemany(
            "insert into orders values (?, ?, ?)",
            [(i, i * 2.0, f"2026-01-01 00:{i % 60:02d}:00") for i in range(1, 61)],
        )
    monkeypatch.setenv("SHOP_DB_URL", f"sqlite:///{db}")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "shop_db.yaml").write_text(
        "name: shop_db\ndescription: orders\nowner: team:shop\nsql_database:\n"
        "  credentials: {secret: SHOP_DB_URL}\n  tables:\n    - name: orders\n"
        "      primary_key: id\n      incremental: {cursor_column: updated_at}\n"
    )
    assert materialize_sources(sources).success
    again = materialize_sources(sources)
    assert again.success
    assert again.materializations[("shop_db", "orders")].get("rows_loaded", 0) <= 1
    with sqlite3.connect(db) as con:
        con.execute(
            "update orders set total = 999, updated_at = '2026-02-01 00:00:00' where id = 7"
        )
    assert materialize_sources(sources).success
    assert query("select count(*), max(total) from shop_db.orders") == [(60, 999.0)]
