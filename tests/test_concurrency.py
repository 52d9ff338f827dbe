"""Two runs started at once against one DuckDB warehouse both succeed, one after the other."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import isolated_env

pytestmark = pytest.mark.dagster


def test_two_cli_runs_at_once_share_the_warehouse_without_lock_errors(
    repo: Path, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path, SOURCEGATE_PII_SALT="concurrency")
    command = [str(repo / ".venv/bin/sourcegate"), "run", "crm_contacts", "webshop_orders"]
    # Output goes to files, not pipes: a run blocked on a full pipe while holding the warehouse
    # lock would stall the other run waiting for that lock.
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs = []
    for log in logs:
        with log.open("w") as handle:
            procs.append(
                subprocess.Popen(
                    command, cwd=repo, env=env, stdout=handle, stderr=subprocess.STDOUT
                )
            )
    for proc in procs:
        proc.wait(timeout=600)
    for proc, log in zip(procs, logs, strict=True):
        output = log.read_text()
        assert proc.returncode == 0, output
        assert "lock" not in output.lower(), output
        mart = [line.split() for line in output.splitlines() if line.startswith("marts ")]
        assert mart and mart[0][:2] == ["marts", "customer_profiles"]  # built while others wrote
    import duckdb

    with duckdb.connect(env["SOURCEGATE_WAREHOUSE"], read_only=True) as con:
        assert con.sql("select count(*) from crm_contacts.contacts").fetchone() == (400,)
        assert con.sql("select count(*) from webshop_orders.orders").fetchone() == (900,)
        assert con.sql("select count(*) from marts.customer_profiles").fetchone() == (400,)
