"""PostgreSQL: the warehouse switched with one setting, and Dagster's instance storage.

The suite starts a real PostgreSQL 15 server itself (initdb into a temp dir on a free port).
In CI a missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.postgres_server import find_bin_dir, postgres_server

pytestmark = pytest.mark.dagster

if find_bin_dir() is None and not os.environ.get("CI"):
    pytest.skip("PostgreSQL server binaries are not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """One server for the module; tests create their own databases on it."""
    with postgres_server() as url:
        yield url


def _database(server_url: str, name: str) -> str:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        con.execute(sa.text(f'drop database if exists "{name}"'))
        con.execute(sa.text(f'create database "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return [tuple(r) for r in con.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_the_warehouse_runs_unchanged_on_postgres(
    pg_server: str, sources_copy: Path, monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    from dagster import materialize

    from assets.factory import definitions_for_sources
    from pipelines.spec.registry import load_registry

    url = _database(pg_server, "warehouse")
    monkeypatch.setenv("SOURCEGATE_WAREHOUSE", url)
    monkeypatch.setenv("SOURCEGATE_PII_SALT", "pg-salt")
    registry = load_registry(sources_copy)
    chosen = [s for s in registry.sources if s.name in ("crm_contacts", "webshop_orders")]
    defs = definitions_for_sources(chosen, url)
    result = materialize(list(defs.assets), resources=defs.resources, raise_on_error=False)
    assert result.success

    assert _rows(url, "select count(*), count(distinct contact_id) from crm_contacts.contacts") == [
        (400, 400)
    ]
    assert _rows(url, "select count(*) from webshop_orders.orders") == [(900,)]
    assert _rows(
        url, "select count(*), count(distinct email_hash) from marts.customer_profiles"
    ) == [(400, 400)]
    # PII: hashed before landing, the same way as on DuckDB; the dropped column is absent
    emails = [r[0] for r in _rows(url, "select email from crm_contacts.contacts limit 50")]
    assert all(len(e) == 64 and "@" not in e for e in emails)
    assert _rows(
        url,
        "select count(*) from information_schema.columns where column_name = 'ip_address'",
    ) == [(0,)]
    # GX ran natively on PostgreSQL, regex included
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["match_regex__country"].passed
    assert checks["match_regex__country"].metadata["unexpected_count"].value == 4
    assert checks["in_set__lifecycle_stage"].passed and checks["unique__order_id"].passed
    table_names = {
        tuple(e.asset_key.path): e.materialization.metadata["dagster/table_name"].value
        for e in result.get_asset_materialization_events()
    }
    assert table_names[("crm_contacts", "contacts")] == "warehouse.crm_contacts.contacts"

    # contracts: a frozen contract rejects a new column and keeps the table as it was
    drop = sources_copy.parent / "frozen_drop"
    drop.mkdir()
    (drop / "members_1.csv").write_text("member_id,tier\n1,gold\n2,silver\n")
    (sources_copy / "frozen_members.yaml").write_text(
        f"name: frozen_members\ndescription: x\nowner: team:crm\nfiles:\n  bucket_url: {drop}\n"
        "  format: csv\n  file_glob: '*.csv'\n  table: members\n  primary_key: member_id\n"
        "contract: {tables: evolve, columns: freeze, data_type: freeze}\n"
    )
    frozen = [s for s in load_registry(sources_copy).sources if s.name == "frozen_members"]
    frozen_defs = definitions_for_sources(frozen, url)
    assert materialize(list(frozen_defs.assets), resources=frozen_defs.resources).success
    (drop / "members_2.csv").write_text("member_id,tier,points\n3,gold,10\n")
    failed = materialize(
        list(frozen_defs.assets), resources=frozen_defs.resources, raise_on_error=False
    )
    assert not failed.success
    assert _rows(url, "select member_id, tier from frozen_members.members order by 1") == [
        (1, "gold"),
        (2, "silver"),
    ]


def test_dagster_instance_storage_on_postgres(pg_server: str, repo: Path, tmp_path: Path) -> None:
    storage_url = _database(pg_server, "dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        f"storage:\n  postgres:\n    postgres_url: {storage_url}\n"
        "concurrency:\n  pools:\n    default_limit: 1\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SOURCEGATE_WAREHOUSE": str(tmp_path / "wh" / "marketing.duckdb"),
    }
    done = subprocess.run(
        [str(repo / ".venv/bin/sourcegate"), "run", "ad_spend"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = _rows(storage_url, "select status from runs")
    assert runs == [("SUCCESS",)]
    events = _rows(
        storage_url,
        "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'",
    )
    assert events == [(1,)]
    assert not (home / "history").exists()  # nothing fell back to local SQLite storage
