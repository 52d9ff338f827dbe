"""Every bundled file source, materialized through a real Dagster run into a temp DuckDB file."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.runtime.value_errors import value_shape

pytestmark = pytest.mark.dagster

SALT = b"test-salt"  # set by the warehouse_path fixture


def _contacts_expected(repo: Path) -> dict[int, dict[str, str]]:
    """The CRM rows as the warehouse should hold them: later daily files win per contact_id."""
    rows: dict[int, dict[str, str]] = {}
    for path in sorted((repo / "data/samples/crm").glob("contacts_*.csv")):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows[int(row["contact_id"])] = row
    return rows


def _sha(value: str) -> str:
    return hashlib.sha256(SALT + value.encode()).hexdigest()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """Load the three file sources once (one Dagster run) and share the warehouse."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("wh") / "marketing.duckdb"
    mp.setenv("SOURCEGATE_WAREHOUSE", str(path))
    mp.setenv("SOURCEGATE_PII_SALT", SALT.decode())
    request.addfinalizer(mp.undo)
    from dagster import materialize

    from assets.factory import definitions_for_sources
    from pipelines.spec.registry import load_registry

    repo = Path(__file__).resolve().parent.parent
    registry = load_registry(repo / "sources")
    chosen = [s for s in registry.sources if s.spec.kind == "files"]
    defs = definitions_for_sources(chosen, path)
    result = materialize(list(defs.assets), resources=defs.resources, raise_on_error=False)
    return path, result


def _sql(path: Path, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_run_succeeds_and_reports_row_counts_and_table_names(loaded) -> None:
    _, result = loaded
    assert result.success
    metadata = {
        tuple(e.asset_key.path): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    assert set(metadata) == {
        ("crm_contacts", "contacts"),
        ("webshop_orders", "orders"),
        ("ad_spend", "daily_spend"),
        ("marts", "customer_profiles"),
    }
    crm = metadata[("crm_contacts", "contacts")]
    assert crm["dagster/row_count"] == 400
    assert crm["rows_loaded"] == 430  # 300 + 130 rows across the two daily files
    assert crm["dagster/table_name"] == "marketing.crm_contacts.contacts"
    assert metadata[("webshop_orders", "orders")]["dagster/row_count"] == 900
    assert metadata[("ad_spend", "daily_spend")]["dagster/row_count"] == 186


def test_crm_contacts_match_the_sample_files_with_pii_applied(loaded, repo: Path) -> None:
    path, _ = loaded
    expected = _contacts_expected(repo)
    rows = _sql(
        path,
        "select contact_id, email, phone, lifecycle_stage, country "
        "from crm_contacts.contacts order by contact_id",
    )
    assert len(rows) == len(expected) == 400
    for contact_id, email, phone, stage, country in rows:
        source = expected[contact_id]
        assert email == _sha(source["email"].strip().lower())
        assert phone == _sha(source["phone"].strip())
        assert stage == source["lifecycle_stage"]
        assert country == source["country"]
    # contact 10 was re-exported on day two as a customer: merge kept the newer row, once
    assert _sql(
        path, "select lifecycle_stage from crm_contacts.contacts where contact_id = 10"
    ) == [("customer",)]
    columns = {r[0] for r in _sql(path, "describe crm_contacts.contacts")}
    assert "ip_address" not in columns  # pii.drop


def test_orders_and_ad_spend_match_the_sample_files(loaded, repo: Path) -> None:
    path, _ = loaded
    orders = [
        json.loads(line)
        for line in (repo / "data/samples/webshop/orders_2026-10.jsonl").read_text().splitlines()
    ]
    refunded = sum(o["status"] == "refunded" for o in orders)
    total = round(sum(o["total_amount"] for o in orders), 2)
    got = _sql(
        path,
        "select count(*) filter (where status = 'refunded'), round(sum(total_amount), 2) "
        "from webshop_orders.orders",
    )
    assert got == [(refunded, total)]
    first = orders[0]
    row = _sql(
        path,
        "select o.customer_email, i.sku from webshop_orders.orders o "
        "join webshop_orders.orders__items i on i._dlt_parent_id = o._dlt_id "
        f"and i._dlt_list_idx = 0 where o.order_id = '{first['order_id']}'",
    )
    assert row == [(_sha(first["customer_email"]), first["items"][0]["sku"])]

    spend = pq.read_table(repo / "data/samples/ads/ad_spend_2026-10.parquet")
    expected_spend = round(sum(spend.column("spend_eur").to_pylist()), 2)
    assert _sql(path, "select round(sum(spend_eur), 2), count(*) from ad_spend.daily_spend") == [
        (expected_spend, spend.num_rows)
    ]


def test_checks_ran_and_report_what_they_found(loaded, repo: Path) -> None:
    _, result = loaded
    evaluations = {
        (*e.asset_key.path, e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert len(evaluations) == 19  # 6 per source and 1 on the mart
    failed = {k for k, e in evaluations.items() if not e.passed}
    assert failed == {("crm_contacts", "contacts", "match_regex__country")}
    regex = evaluations[("crm_contacts", "contacts", "match_regex__country")]
    lower = [
        r for r in _contacts_expected(repo).values() if not re.match(r"^[A-Z]{2}$", r["country"])
    ]
    assert regex.metadata["unexpected_count"].value == len(lower) > 0
    shapes = {value_shape(r["country"]) for r in lower}  # never the values themselves
    assert set(regex.metadata["unexpected_value_shapes"].value) <= shapes
    assert regex.severity.value == "WARN"
    row_count = evaluations[("ad_spend", "daily_spend", "row_count_between")]
    assert row_count.passed
    assert row_count.metadata.get("observed_value").value == "186", dict(row_count.metadata)


def test_a_bad_sample_fails_its_error_check_with_the_right_count(
    tmp_path: Path, sources_copy: Path, materialize_sources, repo: Path
) -> None:
    drop = tmp_path / "crm_drop"
    drop.mkdir()
    rows = list(csv.DictReader((repo / "data/samples/crm/contacts_2026-11-01.csv").open()))
    for row in rows[:3]:
        row["lifecycle_stage"] = "prospect"  # not in the allowed set
    with (drop / "contacts_2026-11-01.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    spec = (sources_copy / "crm_contacts.yaml").read_text()
    (sources_copy / "crm_contacts.yaml").write_text(
        spec.replace("bucket_url: data/samples/crm", f"bucket_url: {drop}")
    )
    outcome = materialize_sources(sources_copy, ["crm_contacts"])
    check = outcome.checks[("crm_contacts", "contacts", "in_set__lifecycle_stage")]
    assert not check.passed
    assert check.severity.value == "ERROR"
    assert check.metadata["unexpected_count"].value == 3
    assert check.metadata["unexpected_value_shapes"].value == ["XXXXXXXX"]  # "prospect"
    assert outcome.materializations[("crm_contacts", "contacts")]["dagster/row_count"] == 300
