"""The Dagster graph built from sources/: snapshot, isolation of broken files, and speed hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assets.factory import build_definitions


def _graph_summary(defs) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "owners": list(node.owners),
            "kinds": sorted(node.kinds),
            "deps": sorted(d.to_user_string() for d in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "pool": node.pools,
            "table_name": node.metadata.get("dagster/table_name"),
            "stage": node.metadata.get("stage"),
        }
    schedules = {
        s.name: {"cron": s.cron_schedule, "timezone": s.execution_timezone} for s in defs.schedules
    }
    sensors = {
        s.name: {"interval": s.minimum_interval_seconds, "status": s.default_status.value}
        for s in defs.sensors
    }
    return {"assets": assets, "schedules": schedules, "sensors": sensors}


def test_definitions_snapshot(repo: Path, snapshot) -> None:
    defs = build_definitions(repo / "sources", repo / "warehouse" / "marketing.duckdb")
    assert _graph_summary(defs) == snapshot


def test_a_broken_file_never_hides_the_good_sources(sources_copy: Path, tmp_path: Path) -> None:
    (sources_copy / "broken_source.yaml").write_text("name: broken_source\nowner: [unclosed\n")
    (sources_copy / "half_done.yaml").write_text("name: half_done\ndescription: x\nowner: a@b.co\n")
    defs = build_definitions(sources_copy, tmp_path / "marketing.duckdb")
    groups = {node.group_name for node in defs.resolve_asset_graph().asset_nodes}
    assert groups == {
        "ad_spend",
        "crm_contacts",
        "hubspot_contacts",
        "stripe_customers",
        "webshop_orders",
        "marts",
        "governance",
        "invalid_sources",
    }


def test_broken_files_show_in_dagster_with_a_failing_check(
    sources_copy: Path, tmp_path: Path
) -> None:
    from dagster import AssetKey, AssetSelection, materialize

    (sources_copy / "half_done.yaml").write_text("name: half_done\ndescription: x\nowner: a@b.co\n")
    defs = build_definitions(sources_copy, tmp_path / "marketing.duckdb")
    key = AssetKey(["invalid_sources", "half_done"])
    node = defs.resolve_asset_graph().get(key)
    assert "needs one of rest_api, files or sql_database" in node.description
    check_def = next(c for c in defs.asset_checks if key in {k.asset_key for k in c.check_keys})
    spec = next(a for a in defs.assets if getattr(a, "key", None) == key)
    result = materialize(
        [spec, check_def], selection=AssetSelection.checks(check_def), raise_on_error=False
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "half_done.yaml:1: a source needs one of rest_api" in evaluation.metadata["errors"].value


def test_loading_definitions_imports_no_gx_and_no_dlt(repo: Path) -> None:
    """The code location loads without GX or dlt (a second each); runs import them."""
    code = (
        "import sys, assets.definitions as d; d.defs.resolve_asset_graph();"
        "print('great_expectations' in sys.modules, 'pyarrow.csv' in sys.modules, "
        "'dlt' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False", "False"]


def test_loading_definitions_builds_no_dlt_objects(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dlt
    import dlt.sources.rest_api as rest_api

    def forbidden(*args, **kwargs):
        raise AssertionError("dlt objects must only be built inside a run")

    monkeypatch.setattr(dlt, "pipeline", forbidden)
    monkeypatch.setattr(rest_api, "rest_api_source", forbidden)
    defs = build_definitions(repo / "sources", tmp_path / "marketing.duckdb")
    assert len(defs.resolve_asset_graph().get_all_asset_keys()) == 7  # 5 tables, mart, scorecard
