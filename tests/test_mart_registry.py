"""`customer_profiles` reads the whole registry (issue 11): every enabled source that hashes an
email, whichever sources a run loaded; a missing or broken table is left out with a warning,
never fatal; production blocking checks still stop it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli_processes import run_cli
from tests.conftest import isolated_env

pytestmark = pytest.mark.dagster

LEADS = """\
name: event_leads
description: Leads collected at trade fairs, dropped as CSV
owner: team:events
{stage}files:
  bucket_url: {drop}
  file_glob: "leads_*.csv"
  format: csv
  table: leads
  primary_key: lead_id
pii:
  hash: [leads.{hashed}]
checks:
  leads:
    - {{expect: in_set, column: fair, values: [Berlin, Paris]}}
"""
PRODUCTION = (
    "steward: data-platform@example.com\npurpose: Invite fair visitors to the newsletter.\n"
    'stage: production\nschedule: "0 7 * * *"\nfreshness_hours: 26\n'
)
# Two people the CRM does not know, and one it does (chloe.rossi1 is contact 1 in the samples).
ROWS = (
    "lead_id,email,fair\n"
    "1,new.visitor1@example.com,Berlin\n"
    "2,Chloe.Rossi1@example.com,Paris\n"
    "3,new.visitor3@example.com,{third_fair}\n"
)


@pytest.fixture
def with_leads(tmp_path: Path, sources_copy: Path):
    """Add `event_leads` to a copy of sources/; returns a function (stage, hashed, fair)."""

    def add(stage: str = "pilot", hashed: str = "email", third_fair: str = "Paris") -> Path:
        drop = tmp_path / "leads_drop"
        drop.mkdir(exist_ok=True)
        (drop / "leads_1.csv").write_text(ROWS.format(third_fair=third_fair))
        text = LEADS.format(
            stage=PRODUCTION if stage == "production" else "", drop=drop, hashed=hashed
        )
        (sources_copy / "event_leads.yaml").write_text(text)
        return sources_copy

    return add


@pytest.fixture
def cli(tmp_path: Path):
    """`sourcegate run NAMES --sources FOLDER` in its own process, warehouse and instance."""
    env = isolated_env(tmp_path, SOURCEGATE_PII_SALT="mart-salt")
    count = iter(range(100))

    def run(sources: Path, *names: str) -> Any:
        log = tmp_path / f"run_{next(count)}.log"
        return run_cli(["run", "--sources", str(sources), *names], env, log, timeout=300)

    run.warehouse = Path(env["SOURCEGATE_WAREHOUSE"])
    run.home = Path(env["DAGSTER_HOME"])
    return run


def _query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).fetchall()


def _mart_metadata(home: Path) -> dict[str, Any]:
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    from assets.marts.customer_profiles import MART_KEY

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        event = instance.get_latest_materialization_event(MART_KEY)
        metadata = event.asset_materialization.metadata
        return {k: v.value for k, v in metadata.items()}


def test_a_run_of_two_sources_keeps_the_people_a_third_source_brought(with_leads, cli) -> None:
    sources = with_leads()
    first = cli(sources, "crm_contacts", "webshop_orders", "event_leads")
    assert first.returncode == 0, first.output
    assert _query(cli.warehouse, "select count(*) from marts.customer_profiles") == [(402,)]

    second = cli(sources, "crm_contacts", "webshop_orders")
    assert second.returncode == 0, second.output
    assert "[marts] customer_profiles: built 402 rows" in second.output  # was: 400
    only_leads = _query(
        cli.warehouse,
        "select count(*) from marts.customer_profiles where sources_seen = ['event_leads']",
    )
    in_both = _query(
        cli.warehouse,
        "select count(*) from marts.customer_profiles "
        "where list_contains(sources_seen, 'event_leads') "
        "and list_contains(sources_seen, 'crm_contacts')",
    )
    assert (only_leads, in_both) == ([(2,)], [(1,)])
    metadata = _mart_metadata(cli.home)
    assert metadata["sources_used"] == ["crm_contacts", "event_leads", "webshop_orders"]
    assert metadata["left_out"] == [
        "hubspot_contacts.contacts.properties__email: the table is not in the warehouse (not "
        "loaded yet, or its load failed)",
        "stripe_customers.customers.email: the table is not in the warehouse (not loaded yet, "
        "or its load failed)",
    ]


def test_a_pilot_source_with_a_wrong_hash_column_is_left_out_not_fatal(with_leads, cli) -> None:
    sources = with_leads(hashed="email_address")  # the export's column is `email`
    done = cli(sources, "crm_contacts", "webshop_orders", "event_leads")
    assert done.returncode == 1, done.output  # the pilot's own load failed, and says so
    assert "event_leads: FAILED" in done.output
    assert "pii.hash rule leads.email_address matches no column" in done.output
    # was: "[marts] customer_profiles: skipped: blocked by event_leads"
    assert "[marts] customer_profiles: built 400 rows" in done.output, done.output
    left_out = _mart_metadata(cli.home)["left_out"]
    assert (
        "event_leads.leads.email_address: the table is not in the warehouse (not loaded yet, "
        "or its load failed)"
    ) in left_out


def test_a_production_source_whose_blocking_check_failed_still_blocks_the_mart(
    with_leads, cli
) -> None:
    sources = with_leads(stage="production", third_fair="Rome")  # not in [Berlin, Paris]
    first = cli(sources, "event_leads")
    assert first.returncode == 1, first.output
    assert "event_leads.leads: check in_set__fair FAILED (error)" in first.output
    assert "[marts] customer_profiles: skipped: blocked by event_leads" in first.output

    # a later run of the other sources reads event_leads too, so its failed check still counts
    second = cli(sources, "crm_contacts", "webshop_orders")
    assert (
        "[marts] customer_profiles: skipped: blocked by event_leads (a blocking check failed "
        "when it last ran; run it again once its data is fixed)"
    ) in second.output, second.output
    assert second.returncode == 0, second.output
    marts = "select count(*) from information_schema.tables where table_schema = 'marts'"
    assert _query(cli.warehouse, marts) == [(0,)]

    # fixed and run again: the check passes and the mart is built with the leads
    (sources.parent / "leads_drop" / "leads_1.csv").write_text(ROWS.format(third_fair="Paris"))
    third = cli(sources, "event_leads")
    assert third.returncode == 0, third.output
    assert "[marts] customer_profiles: built 402 rows" in third.output


def _mart_over_registry(sources: Path, warehouse_path: Path):
    """The mart asset and resources, built over every enabled source of ``sources``."""
    from assets.factory import definitions_for_sources
    from assets.marts.customer_profiles import MART_KEY
    from pipelines.spec.registry import load_registry

    registry = load_registry(sources, reserved_names={warehouse_path.stem}, deep=False)
    enabled = [s for s in registry.sources if s.spec.enabled]
    defs = definitions_for_sources(enabled, warehouse_path)
    return defs, next(a for a in defs.assets if MART_KEY in a.keys)


def test_a_table_that_landed_as_the_wrong_type_is_left_out(
    with_leads, materialize_sources, warehouse_path: Path, query
) -> None:
    from dagster import materialize

    sources = with_leads()
    loaded = materialize_sources(sources, ["crm_contacts", "webshop_orders"])
    assert loaded.success, loaded.failure
    with duckdb.connect(str(warehouse_path)) as con:  # landed by hand as a list: broken
        con.execute("create schema event_leads")
        con.execute("create table event_leads.leads (lead_id bigint, email varchar[])")
        con.execute("insert into event_leads.leads values (1, ['a', 'b'])")
    defs, mart = _mart_over_registry(sources, warehouse_path)
    result = materialize([mart], resources=defs.resources, raise_on_error=False)
    assert result.success  # was: a failed union of VARCHAR and VARCHAR[]
    (event,) = result.get_asset_materialization_events()
    left_out = event.materialization.metadata["left_out"].value
    assert "event_leads.leads.email: the column is VARCHAR[], not text" in " ".join(left_out)
    assert query("select count(*) from marts.customer_profiles") == [(400,)]


def test_the_mart_builds_from_what_has_landed_when_a_base_table_is_missing(
    sources_copy: Path, materialize_sources, warehouse_path: Path, query
) -> None:
    from dagster import materialize

    loaded = materialize_sources(sources_copy, ["crm_contacts"])
    assert loaded.success, loaded.failure
    defs, mart = _mart_over_registry(sources_copy, warehouse_path)
    result = materialize([mart], resources=defs.resources, raise_on_error=False)
    assert result.success  # was: "Table with name orders does not exist"
    (event,) = result.get_asset_materialization_events()
    assert (
        "webshop_orders.orders: no column customer_email, ordered_at, total_amount, status in "
        "the warehouse; read as empty"
    ) in event.materialization.metadata["left_out"].value
    assert query(
        "select count(*), sum(order_count), count(first_seen_at) from marts.customer_profiles"
    ) == [(400, 0, 400)]


@pytest.mark.parametrize("crm_check_passes", [True, False])
def test_automation_waits_only_for_the_base_tables_and_still_for_blocking_checks(
    sources_copy: Path, tmp_path: Path, crm_check_passes: bool
) -> None:
    from dagster import (
        AssetCheckEvaluation,
        AssetKey,
        AssetMaterialization,
        DagsterInstance,
        evaluate_automation_conditions,
    )

    from assets.factory import build_definitions
    from assets.marts.customer_profiles import MART_KEY

    defs = build_definitions(sources_copy, tmp_path / "marketing.duckdb")
    graph = defs.resolve_asset_graph()
    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs=defs, instance=instance)  # the daemon starts
        # the base sources loaded and ran their checks; hubspot and stripe never ran
        for key in (AssetKey(["crm_contacts", "contacts"]), AssetKey(["webshop_orders", "orders"])):
            instance.report_runless_asset_event(AssetMaterialization(asset_key=key))
            for check in graph.get(key).check_keys:
                passed = crm_check_passes or check.name != "in_set__lifecycle_stage"
                instance.report_runless_asset_event(
                    AssetCheckEvaluation(asset_key=key, check_name=check.name, passed=passed)
                )
        result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    # was: never requested while hubspot_contacts had not loaded; a failed blocking check of a
    # production source still holds it back
    expected = {None} if crm_check_passes else set()
    assert result.get_requested_partitions(MART_KEY) == expected
