"""Suggested checks hold: computed on up to 1,000 rows per table, applied to the full tables."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from pydantic import TypeAdapter

from pipelines.runtime.warehouse import Warehouse
from pipelines.spec.checks import CheckSpec
from pipelines.spec.models import SourceSpec
from pipelines.spec.registry import load_registry, load_source_text
from quality.suggestions import suggest_checks, suggest_for_source
from tests.fake_api import hubspot_api, hubspot_contacts, serve, stripe_api, stripe_customers
from tests.test_rest_sources import TOKEN, _point_at

SCHEMA = "shop"
# Tricky text for YAML: booleans in YAML 1.1, a comma, a colon, a quote, a digit, an accent.
TRICKY = ["yes", "No", "on", "a, b", "key: value", "it's", "42", "Köln"]
TABLES = {
    # 300 days of one campaign each: every campaign_id distinct, still another entity's id
    "ad_spend": "select date '2026-01-01' + i::integer as date, "
    "printf('cmp_%03d', i) as campaign_id, i * 1.5 as spend_eur from range(300) t(i)",
    # 250 profiles: `id` distinct in 250 rows; email is personal data
    "profiles": "select i + 1 as id, printf('p%d@example.com', i) as email, "
    "case when i % 3 = 0 then 'pro' else 'free' end as plan from range(250) t(i)",
    # every event names a profile; event_id is this table's own id
    "events": "select printf('ev_%04d', i) as event_id, i + 1 as profile_id, "
    "[i, i + 1] as tags from range(250) t(i)",
    # one click names a profile that does not exist
    "clicks": "select i as click_no, case when i = 7 then 999 else i % 250 + 1 end as profile_id "
    "from range(240) t(i)",
    # 150 rows: too few to call `id` unique from the values alone
    "campaigns": "select i + 1 as id, 'c' || i as name from range(150) t(i)",
    "tricky": "select [{}][i % {} + 1] as label from range(40) t(i)".format(
        ", ".join("'" + v.replace("'", "''") + "'" for v in TRICKY), len(TRICKY)
    ),
    # distinct in the first 250 rows only
    "repeats": "select printf('r%d', i % 250) as id from range(300) t(i)",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A DuckDB file with hand-built tables in schema `shop`."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema {SCHEMA}")
        for table, query in TABLES.items():
            con.execute(f"create table {SCHEMA}.{table} as {query}")
    return path


def test_suggesting_imports_neither_dlt_nor_great_expectations(repo: Path) -> None:
    code = (
        "import sys, quality.suggestions; "
        "print(sorted({'dlt', 'great_expectations'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def _suggest(path: Path, tables: list[str], **kwargs) -> dict[str, list[str]]:
    kwargs.setdefault("primary_keys", {})
    kwargs.setdefault("masked", {})
    with duckdb.connect(str(path), read_only=True) as con:
        return suggest_checks(con, SCHEMA, tables, **kwargs)


def _checks(lines: list[str]) -> list[CheckSpec]:
    adapter = TypeAdapter(CheckSpec)
    return [adapter.validate_python(yaml.safe_load(line)[0]) for line in lines]


def test_unique_needs_200_distinct_rows_and_no_other_entitys_id(shop: Path) -> None:
    found = _suggest(shop, ["ad_spend", "profiles", "events", "campaigns"])
    unique = {
        t: [c.column for c in _checks(lines) if c.expect == "unique"] for t, lines in found.items()
    }
    assert unique == {
        "ad_spend": [],  # campaign_id: distinct in 300 rows, but a campaign's id
        "profiles": ["id"],  # not email: distinct in a sample is no key
        "events": ["event_id"],  # not profile_id
        "campaigns": [],  # 150 rows
    }


def test_a_declared_primary_key_is_unique_whatever_the_row_count(shop: Path) -> None:
    keys = {"campaigns": ["id"], "ad_spend": ["date", "campaign_id"]}
    found = _suggest(shop, ["campaigns", "ad_spend"], primary_keys=keys)
    assert "- {expect: unique, column: id}" in found["campaigns"]
    assert "- {expect: unique_combination, columns: [date, campaign_id]}" in found["ad_spend"]
    assert not [line for line in found["ad_spend"] if "expect: unique," in line]


@pytest.mark.parametrize(
    ("table", "column", "unique"),
    [
        ("contacts", "contact_id", True),
        ("crm_contacts", "contact_id", True),
        ("categories", "category_id", True),
        ("addresses", "address_id", True),
        ("statuses", "status_id", True),
        ("people", "person_id", True),
        ("orders__line_items", "line_item_id", True),
        ("orders__line_items", "order_id", False),
        ("ad_spend", "campaign_id", False),
        ("events", "profile_id", False),
        ("events", "attributes__event_id", False),  # a nested object's id
        ("contacts", "created_at", False),
        ("contacts", "signup_date", False),
    ],
)
def test_unique_by_values_reads_the_table_name(
    tmp_path: Path, table: str, column: str, unique: bool
) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema {SCHEMA}")
        query = f"select 'v' || i as \"{column}\" from range(200) t(i)"
        con.execute(f'create table {SCHEMA}."{table}" as {query}')
    line = f"- {{expect: unique, column: {column}}}"
    assert (line in _suggest(path, [table])[table]) is unique


def test_a_distinct_integer_time_or_code_is_no_key(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema {SCHEMA}")
        con.execute(
            f"create table {SCHEMA}.daily as select i * 7 as impressions, "
            "timestamp '2026-01-01' + to_minutes(i) as seen, printf('%d', i) as code "
            "from range(300) t(i)"
        )
    unique = [c.column for c in _checks(_suggest(path, ["daily"])["daily"]) if c.expect == "unique"]
    assert unique == []  # distinct counts, times and codes in a sample are its luck


def test_references_when_every_value_is_a_key_and_not_with_one_orphan(shop: Path) -> None:
    found = _suggest(shop, ["profiles", "events", "clicks", "campaigns"])
    assert "- {expect: references, column: profile_id, to: profiles.id}" in found["events"]
    assert not [line for line in found["clicks"] if "references" in line]
    # a table's own key refers to nothing; nor do the keys' small integers elsewhere
    assert not [
        line for t in ("profiles", "campaigns") for line in found[t] if "references" in line
    ]


def test_a_masked_key_is_no_reference_target(shop: Path) -> None:
    found = _suggest(shop, ["profiles", "events"], masked={"profiles": ["id"]})
    assert not [line for line in found["events"] if "references" in line]


def test_masked_columns_get_nothing(shop: Path) -> None:
    plain = _suggest(shop, ["profiles"])["profiles"]
    masked = _suggest(shop, ["profiles"], masked={"profiles": ["email"]})["profiles"]
    assert [line for line in plain if "email" in line]
    assert masked == [line for line in plain if "email" not in line]


def test_hashed_columns_get_no_raw_value_check(shop: Path) -> None:
    found = _suggest(shop, ["profiles"], hashed={"profiles": ["plan"]})["profiles"]
    assert "- {expect: not_null, column: plan}" in found
    assert not [line for line in found if "in_set" in line]


def test_in_set_values_read_back_as_the_text_they_are(shop: Path) -> None:
    (in_set,) = [c for c in _checks(_suggest(shop, ["tricky"])["tricky"]) if c.expect == "in_set"]
    assert sorted(in_set.values) == sorted(TRICKY)


def test_at_most_sample_limit_rows_are_read(shop: Path) -> None:
    unique = "- {expect: unique, column: id}"
    assert unique not in _suggest(shop, ["repeats"])["repeats"]
    assert unique in _suggest(shop, ["repeats"], sample_limit=250)["repeats"]
    assert _suggest(shop, ["repeats"], sample_limit=1) == {}  # one row supports nothing


def test_every_suggestion_passes_on_the_hand_built_tables(shop: Path) -> None:
    keys = {"campaigns": ["id"], "ad_spend": ["date", "campaign_id"]}
    found = _suggest(shop, list(TABLES), primary_keys=keys)
    assert any("references" in line for lines in found.values() for line in lines)
    failures = _apply(Warehouse(shop), SCHEMA, {t: _checks(lines) for t, lines in found.items()})
    assert not failures, failures


def _apply(warehouse: Warehouse, schema: str, checks: dict[str, list[CheckSpec]]) -> list[str]:
    """Run ``checks`` per table on the whole tables; a line for each that does not pass."""
    from quality.runner import WarehouseChecker

    checker = WarehouseChecker(warehouse.sqlalchemy_url())
    failures = []
    try:
        for table, table_checks in checks.items():
            outcomes = checker.run(schema, table, table_checks)
            failures += [
                f"{schema}.{table}: {o.check_name} {o.unexpected_count} unexpected {o.error or ''}"
                for o in outcomes
                if not o.passed
            ]
    finally:
        checker.close()
    return failures


# The bundled REST sources' loopback fakes (over 200 rows, so values can show a key): the API,
# its base URL in the source file, and that URL's path on the fake.
FAKES = {
    "hubspot_contacts": (
        lambda: hubspot_api(TOKEN, hubspot_contacts(250)),
        "https://api.hubapi.com/",
        "",
    ),
    "stripe_customers": (
        lambda: stripe_api(TOKEN, stripe_customers(230)),
        "https://api.stripe.com/v1/",
        "v1/",
    ),
}


@pytest.mark.dagster
def test_every_suggestion_holds_on_the_full_data_of_every_bundled_source(
    sources_copy: Path, materialize_sources, warehouse_path: Path, monkeypatch
) -> None:
    registry = load_registry(sources_copy, reserved_names={warehouse_path.stem})
    assert registry.sources and not registry.errors
    untested = [s.name for s in registry.sources if s.spec.kind != "files" and s.name not in FAKES]
    assert not untested, f"give these bundled sources a loopback fake in FAKES: {untested}"
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    monkeypatch.setenv("STRIPE_API_KEY", TOKEN)
    with contextlib.ExitStack() as stack:
        for name, (make_api, real_url, path) in FAKES.items():
            api = stack.enter_context(serve(make_api()))
            _point_at(sources_copy, name, real_url, f"{api.base_url}{path}")
        outcome = materialize_sources(sources_copy)
    assert outcome.success, outcome.failure

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        suggested = {s.name: suggest_for_source(con, s.spec, {}) for s in registry.sources}
    failures = []
    for source in registry.sources:
        spec = _pasted(source.path, suggested[source.name], warehouse_path.stem)
        for table in spec.table_names():
            lines = suggested[source.name][table]
            assert len(lines) > 1, f"{source.name}.{table}: only {lines}"
            assert len(spec.checks[table]) == len(lines)
        failures += _apply(Warehouse(warehouse_path), spec.name, spec.checks)
    assert not failures, failures


@pytest.mark.dagster
def test_the_readme_json_api_example_gets_a_reference_that_holds(
    tmp_path: Path, materialize_sources, warehouse_path: Path, monkeypatch
) -> None:
    """The README's worked REST example: events name their profile in a nested JSON:API
    relationship, and the suggestion checks it against the profiles table."""
    from tests.fake_jsonapi import events, klaviyo_api, profiles
    from tests.test_readme_rest_example import KEY, readme_example

    monkeypatch.setenv("KLAVIYO_API_KEY", KEY)
    tables = {"profiles": (profiles(300), "updated"), "events": (events(400, 300), "datetime")}
    path = tmp_path / "sources" / "klaviyo_engagement.yaml"
    path.parent.mkdir()
    with serve(klaviyo_api(KEY, tables)) as api:
        path.write_text(readme_example().replace("https://a.klaviyo.com/", api.base_url))
        outcome = materialize_sources(path.parent)
    assert outcome.success, outcome.failure

    (source,) = load_registry(path.parent, reserved_names={warehouse_path.stem}).sources
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        suggested = suggest_for_source(con, source.spec, {})
    reference = "- {expect: references, column: relationships__profile__data__id, to: profiles.id}"
    assert reference in suggested["events"]
    spec = _pasted(path, suggested, warehouse_path.stem)
    assert not _apply(Warehouse(warehouse_path), spec.name, spec.checks)


def _pasted(path: Path, suggested: dict[str, list[str]], warehouse_stem: str) -> SourceSpec:
    """The source file with its `checks:` replaced by the suggestions as preview prints them,
    validated like any source file."""
    data = yaml.safe_load(path.read_text())
    data.pop("checks", None)
    text = yaml.safe_dump(data, sort_keys=False) + "checks:\n"
    for table, lines in suggested.items():
        text += f"  {table}:\n" + "".join(f"    {line}\n" for line in lines)
    result = load_source_text(text, path, {warehouse_stem})
    assert result.source is not None, [str(e) for e in result.errors]
    return result.source.spec
