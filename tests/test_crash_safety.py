"""Data a killed run extracted is not lost, even when its input is gone before the next run.

The vendor moved the files away after the killed run: the next run still lands what the killed
one had extracted, once, even for an `append` table. (`test_killed_runs.py` covers the kills
themselves through the CLI: extract, normalize and load, each followed by other runs.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_processes import kill_group, run_cli, start_paused
from tests.conftest import isolated_env
from tests.order_drop import EXPECTED_ORDERS, orders_in, write_order_drop

pytestmark = pytest.mark.dagster


@pytest.mark.parametrize("stage", ["normalize", "load_start"])
def test_data_extracted_before_the_kill_is_not_lost_when_the_source_is_gone(
    stage: str, tmp_path: Path
) -> None:
    drop, sources = write_order_drop(tmp_path, disposition="append")
    env = isolated_env(tmp_path, SOURCEGATE_PII_SALT="crash-safety")
    run = ["run", "--sources", str(sources), "order_drop"]
    kill_group(start_paused(run, env, tmp_path / "killed.log", stage))
    for path in drop.iterdir():
        path.unlink()

    after = run_cli(run, env, tmp_path / "after.log", timeout=120)
    assert after.returncode == 0, after.output
    assert "also finished 1 load package(s) an interrupted run left" in after.output
    assert orders_in(env["SOURCEGATE_WAREHOUSE"]) == EXPECTED_ORDERS
