"""A check on a column the table does not have is named as such, with the closest real column:
by `validate` where the kind knows its columns before loading (files, SQL), and by the checks
that run on a loaded table (`run`, `preview --checks`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest

from pipelines.spec.check_columns import column_warnings
from pipelines.spec.registry import load_registry

FILES_SOURCE = """\
name: leads
description: Leads from the fair
owner: team:events
files:
  bucket_url: {drop}
  file_glob: "*.{fmt}"
  format: {fmt}
  table: leads
pii:
  hash: [leads.email]
checks:
  leads:
{checks}
"""


def _files_source(tmp_path: Path, fmt: str, checks: list[str]) -> Path:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    lines = "\n".join(f"    - {check}" for check in checks)
    text = FILES_SOURCE.format(drop=tmp_path / "drop", fmt=fmt, checks=lines)
    (sources / "leads.yaml").write_text(text)
    return sources


def _messages(sources: Path) -> list[tuple[int, str]]:
    """`validate`'s column warnings; the files stay valid (runnable) whatever they say."""
    registry = load_registry(sources)
    assert registry.errors == []
    found = [w for source in registry.sources for w in column_warnings(source)]
    assert all(w.severity == "warning" for w in found)
    return [(w.line, w.message) for w in found]


def test_validate_reads_the_csv_headers_and_names_the_closest_column(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "leads_2026-01.csv").write_text("Lead ID,E-Mail,Country,Score\n1,a@x.io,IT,3\n")
    # the newest export lacks the optional Score: a column of any recent file counts
    (drop / "leads_2026-02.csv").write_text("Lead ID,E-Mail,Country\n1,a@x.io,IT\n")
    (drop / "leads_2026-03.csv").write_text("")  # an empty export says nothing
    sources = _files_source(
        tmp_path,
        "csv",
        [
            "{expect: not_null, column: lead_id}",
            "{expect: not_null, column: emial}",
            "{expect: between, column: score, min: 0}",
            "{expect: unique_combination, columns: [lead_id, countri]}",
        ],
    )
    columns = "lead_id, e_mail, country, score, _source_file"
    assert _messages(sources) == [
        (
            14,
            f"table leads has no column emial; did you mean e_mail?; its columns are: {columns} "
            f"(read from the files in {drop})",
        ),
        (
            16,
            f"table leads has no column countri; did you mean country?; its columns are: "
            f"{columns} (read from the files in {drop})",
        ),
    ]


def test_a_blank_header_cell_says_nothing_rather_than_guess(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "leads.csv").write_text("id,,amount\n1,x,3\n")
    sources = _files_source(tmp_path, "csv", ["{expect: not_null, column: anything}"])
    assert _messages(sources) == []


def test_validate_flattens_objects_and_leaves_lists_to_their_own_table(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    row = {"id": 1, "email": "a@x.io", "billing": {"zipCode": "20100"}, "items": [{"sku": "a"}]}
    (drop / "leads.jsonl").write_text(json.dumps(row) + "\n")
    sources = _files_source(
        tmp_path,
        "jsonl",
        ["{expect: not_null, column: billing.zip_code}", "{expect: not_null, column: items}"],
    )
    [(line, message)] = _messages(sources)
    assert line == 14
    assert message.startswith("table leads has no column items; its columns are: id, email, ")
    assert "billing__zip_code" in message


def test_validate_says_nothing_before_the_first_file_arrives(tmp_path: Path) -> None:
    (tmp_path / "drop").mkdir()
    sources = _files_source(tmp_path, "csv", ["{expect: not_null, column: anything}"])
    assert _messages(sources) == []


def test_validate_reflects_a_sql_table_when_its_url_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table accounts (id integer primary key, AccountName text)")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "crm.yaml").write_text(
        "name: crm\ndescription: CRM\nowner: team:crm\n"
        "sql_database:\n  credentials: {secret: CRM_DB_URL}\n  tables:\n    - name: accounts\n"
        "checks:\n  accounts:\n    - {expect: not_null, column: account_nam}\n"
    )
    monkeypatch.delenv("CRM_DB_URL", raising=False)
    assert _messages(sources) == []  # no URL: nothing to reflect, the run will tell
    monkeypatch.setenv("CRM_DB_URL", f"sqlite:///{db}")
    assert _messages(sources) == [
        (
            10,
            "table accounts has no column account_nam; did you mean account_name?; its columns "
            "are: id, account_name (read from the database's table accounts)",
        )
    ]
    missing = tmp_path / "nowhere.sqlite"
    monkeypatch.setenv("CRM_DB_URL", f"sqlite:///{missing}")
    assert _messages(sources) == []
    assert not missing.exists()  # reflection never creates a database


def test_checks_on_a_loaded_table_name_the_missing_column_and_still_run_the_rest(
    tmp_path: Path,
) -> None:
    from pipelines.spec.checks import NotNullCheck, RowCountBetweenCheck
    from quality.runner import WarehouseChecker

    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema leads")
        con.execute("create table leads.leads as select 1 as id, null::varchar as email")
    checks = [
        NotNullCheck(expect="not_null", column="emial"),
        NotNullCheck(expect="not_null", column="email"),
        RowCountBetweenCheck(expect="row_count_between", min=1),
    ]
    checker = WarehouseChecker(f"duckdb:///{path}")
    try:
        missing, email, rows = checker.run("leads", "leads", checks)
    finally:
        checker.close()
    assert not missing.passed
    assert missing.error == (
        "table leads has no column emial; did you mean email?; its columns are: id, email"
    )
    assert (email.passed, email.unexpected_count, email.error) == (False, 1, None)
    assert (rows.passed, rows.observed_value) == (True, 1)


def test_validate_warns_when_references_name_a_source_no_file_defines(tmp_path: Path) -> None:
    from pipelines.spec.check_columns import unknown_reference_sources

    sources = tmp_path / "sources"
    sources.mkdir()
    body = (
        "name: {name}\ndescription: test\nowner: team:test\nfiles:\n  bucket_url: {drop}\n"
        "  format: csv\n  table: t\nchecks:\n  t:\n"
        "    - {{expect: references, column: a, to: {to}}}\n"
    )
    (sources / "shop_events.yaml").write_text(
        body.format(name="shop_events", drop=tmp_path, to="crm_people.people.id")
    )
    (sources / "crm.yaml").write_text(body.format(name="crm", drop=tmp_path, to="t.a"))
    registry = load_registry(sources)
    known = {s.name for s in registry.sources}
    [warning] = unknown_reference_sources(registry.sources, known)
    assert (warning.file.name, warning.line, warning.severity) == (
        "shop_events.yaml",
        10,
        "warning",
    )
    assert warning.message.startswith(
        "to: 'crm_people.people.id' names source 'crm_people', but no file here defines it"
    )
