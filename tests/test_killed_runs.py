"""A killed or interrupted `sourcegate run` never blocks or corrupts the runs after it.

Everything goes through the CLI against one shared Dagster instance and warehouse, as a user
or a scheduler runs it. The killed process is stopped at a chosen moment of its load by
`tests/crash_hooks` and then killed from outside, its whole process group at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_processes import kill_group, run_cli, start_cli, start_paused, wait_for_text
from tests.conftest import isolated_env
from tests.fake_api import FakeApi, Request, json_response, serve
from tests.order_drop import EXPECTED_ORDERS, orders_in, write_order_drop

pytestmark = pytest.mark.dagster

EVENTS = """\
name: event_drop
description: Events exported as CSV files
owner: team:shop
files:
  bucket_url: {drop}
  file_glob: "events_*.csv"
  format: csv
  table: events
  primary_key: event_id
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Two file sources (3,000 orders in three files, 10 events) and an isolated environment."""
    drop, sources = write_order_drop(tmp_path)
    events = "".join(f"{i},view\n" for i in range(10))
    (drop / "events_1.csv").write_text("event_id,kind\n" + events)
    (sources / "event_drop.yaml").write_text(EVENTS.format(drop=drop))
    return sources, isolated_env(tmp_path, SOURCEGATE_PII_SALT="killed-runs")


def _orders_land_once(sources: Path, env: dict[str, str], log: Path) -> str:
    """Run order_drop to the end; assert it succeeds and every order is there once."""
    done = run_cli(["run", "--sources", str(sources), "order_drop"], env, log, timeout=120)
    assert done.returncode == 0, done.output
    assert orders_in(env["SOURCEGATE_WAREHOUSE"]) == EXPECTED_ORDERS
    return done.output


@pytest.mark.parametrize("stage", ["extract", "normalize", "load"])
def test_after_a_sigkill_the_next_runs_finish_and_load_every_row_once(
    stage: str, setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    sources, env = setup
    run = ["run", "--sources", str(sources)]
    killed = start_paused([*run, "order_drop"], env, tmp_path / "killed.log", stage)
    kill_group(killed)

    other = run_cli([*run, "event_drop"], env, tmp_path / "other.log", timeout=120)
    assert other.returncode == 0, other.output
    assert "(order_drop) was marked failed: its process" in other.output
    assert "died without finishing; its warehouse slot was released" in other.output
    assert "loaded 10 rows" in other.output

    same = _orders_land_once(sources, env, tmp_path / "same.log")
    # A package killed during extract was never committed; later ones are finished, once.
    finished = "also finished 1 load package(s) an interrupted run left" in same
    assert finished == (stage != "extract"), same
    _orders_land_once(sources, env, tmp_path / "again.log")


def test_status_shows_a_stuck_run_and_repair_releases_it(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    sources, env = setup
    status = ["status", "--sources", str(sources)]
    paused = start_paused(
        ["run", "--sources", str(sources), "order_drop"], env, tmp_path / "run.log", "normalize"
    )
    live = run_cli(status, env, tmp_path / "live.log", timeout=60)
    assert live.returncode == 0, live.output
    assert f"pid {paused.pid} on " in live.output and "(alive)" in live.output
    assert "pool duckdb_warehouse (limit 1):" in live.output
    assert "held by run" in live.output and "(order_drop), step order_drop__load" in live.output
    assert "writer lock: held by order_drop (run " in live.output
    assert "order_drop: " in live.output and "(extracted)" in live.output

    kill_group(paused)
    stuck = run_cli(status, env, tmp_path / "stuck.log", timeout=60)
    assert stuck.returncode == 1, stuck.output
    assert "(process gone: `sourcegate status --repair` releases it)" in stuck.output
    assert "held by run" in stuck.output
    assert "writer lock: free" in stuck.output  # the kernel released the dead process's lock

    repaired = run_cli([*status, "--repair"], env, tmp_path / "repair.log", timeout=60)
    assert repaired.returncode == 0, repaired.output
    assert "repair: run " in repaired.output
    assert "(order_drop) was marked failed: its process" in repaired.output
    assert "runs in progress: none" in repaired.output
    assert "no pool has a slot taken" in repaired.output
    assert "Traceback" not in stuck.output + repaired.output

    again = run_cli([*status, "--repair"], env, tmp_path / "again.log", timeout=60)
    assert "repair: nothing to repair" in again.output
    _orders_land_once(sources, env, tmp_path / "finished.log")


def _interrupt_promptly(process: subprocess.Popen, signum: int) -> None:
    """Send SIGTERM, or Ctrl-C as a terminal does; the command must end with 130 within 10 s."""
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)  # Ctrl-C reaches the terminal's whole process group
    else:
        process.send_signal(signum)
    assert process.wait(timeout=30) == 130
    assert time.monotonic() - sent < 10


@pytest.mark.parametrize(
    ("signum", "stage"),
    [(signal.SIGTERM, "extract"), (signal.SIGINT, "extract"), (signal.SIGTERM, "load")],
    # at `load`, a load job thread is still inside its warehouse statement and never ends
)
def test_sigterm_and_ctrl_c_stop_a_run_promptly_and_free_the_warehouse(
    signum: int, stage: str, setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    sources, env = setup
    # one at a time: the pause is in the run's own extract (extracting ahead: the next test)
    run = ["run", "--sources", str(sources), "--parallel", "1"]
    log = tmp_path / "interrupted.log"
    process = start_paused([*run, "order_drop", "event_drop"], env, log, stage)
    _interrupt_promptly(process, signum)
    output = log.read_text()
    assert "interrupted: the load of order_drop (run " in output
    assert "stopped and was marked failed, and its warehouse slot is free" in output
    assert "Traceback" not in output
    assert "event_drop" not in output.split("interrupted:")[1]  # nothing ran after it

    status = run_cli(["status", "--sources", str(sources)], env, tmp_path / "status.log")
    assert "runs in progress: none" in status.output
    assert "no pool has a slot taken" in status.output
    _orders_land_once(sources, env, tmp_path / "after.log")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupt_while_sources_extract_ahead_stops_promptly_and_loses_nothing(
    signum: int, setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Paused inside an extract ahead (a thread, with `--parallel 2`): the command still ends
    at once with 130, and the next run loads every order once and leaves no scratch package."""
    sources, env = setup
    run = ["run", "--sources", str(sources), "--parallel", "2"]
    log = tmp_path / "interrupted.log"
    process = start_paused([*run, "order_drop", "event_drop"], env, log, "extract")
    # the pause is in a thread: wait until a run started and waits for its package
    status = ["status", "--sources", str(sources)]
    deadline = time.monotonic() + 90
    while " STARTED " not in run_cli(status, env, tmp_path / "live.log").output:
        assert time.monotonic() < deadline, log.read_text()
    _interrupt_promptly(process, signum)
    output = log.read_text()
    # the first batch written may be either source's: the one whose run waits for it stops
    assert "interrupted: the load of " in output
    assert "stopped and was marked failed, and its warehouse slot is free" in output
    assert "Traceback" not in output

    after = run_cli(status, env, tmp_path / "status.log")
    assert "runs in progress: none" in after.output
    assert "no pool has a slot taken" in after.output
    _orders_land_once(sources, env, tmp_path / "after.log")
    scratch = Path(env["SOURCEGATE_WAREHOUSE"]).parent / ".marketing_dlt" / "extract_ahead"
    assert not scratch.exists() or not any(scratch.iterdir())  # the dead process's is gone


def test_a_run_waits_visibly_for_a_live_holder_and_gives_up_after_its_timeout(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    sources, env = setup
    run = ["run", "--sources", str(sources)]
    holder = start_paused([*run, "order_drop"], env, tmp_path / "holder.log", "normalize")
    waiting = run_cli(
        [*run, "event_drop", "--wait-timeout", "3"], env, tmp_path / "waiting.log", timeout=60
    )
    assert waiting.returncode == 1, waiting.output
    lines = waiting.output.splitlines()
    waits = [line for line in lines if line.startswith("waiting for run ")]
    assert len(waits) == 1, waiting.output  # said once, not once per poll
    assert "(source order_drop) to release the warehouse ..." in waits[0]
    assert "gave up after waiting 3s for the warehouse: run " in waiting.output
    assert "`sourcegate status --repair` releases it" in waiting.output

    # A waiter killed while it waits leaves no claim behind that would block later runs.
    waiter = start_cli([*run, "event_drop"], env, tmp_path / "waiter.log")
    wait_for_text(tmp_path / "waiter.log", "to release the warehouse ...")
    kill_group(waiter)

    holder.send_signal(signal.SIGTERM)
    assert holder.wait(timeout=30) == 130
    done = run_cli([*run, "event_drop"], env, tmp_path / "done.log", timeout=120)
    assert done.returncode == 0, done.output
    assert "dropped the duckdb_warehouse claim of run " in done.output
    assert "whose process died before the run started" in done.output
    assert "loaded 10 rows" in done.output


RETRYING = """\
name: {name}
description: Items from an API that fails once
owner: team:test
retries: {{max_retries: 1, delay_seconds: 2}}
http: {{max_attempts: 1}}
rest_api:
  client:
    base_url: {base_url}
    auth: {{type: bearer, token: {{secret: ITEMS_TOKEN}}}}
    paginator: single_page
  resources:
    - name: items
      primary_key: id
      write_disposition: merge
      endpoint: {{path: {name}, data_selector: data}}
"""


def test_a_step_retry_keeps_the_warehouse_and_the_waiting_run_goes_after_it(
    tmp_path: Path,
) -> None:
    """A transient failure retries inside the run that holds the warehouse: a run waiting for
    it neither slips in between the attempts nor makes the retry wait (in a loop deaf to
    signals and timeouts)."""
    calls = []

    def flaky(request: Request):
        calls.append("flaky")
        if calls.count("flaky") == 1:
            time.sleep(8)  # long enough for the other run to start and queue
            return json_response(503, {"message": "try later"})
        return json_response(200, {"data": [{"id": 1}]})

    def steady(request: Request):
        calls.append("steady")
        return json_response(200, {"data": [{"id": 2}]})

    with serve(FakeApi(token="items-token", routes={"/flaky": flaky, "/steady": steady})) as api:
        sources = tmp_path / "sources"
        sources.mkdir()
        for name in ("flaky", "steady"):
            spec = RETRYING.format(name=name, base_url=api.base_url)
            (sources / f"{name}.yaml").write_text(spec)
        env = isolated_env(tmp_path, ITEMS_TOKEN="items-token", SOURCEGATE_PII_SALT="retry")
        run = ["run", "--sources", str(sources)]
        first = start_cli([*run, "flaky", "--wait-timeout", "5"], env, tmp_path / "first.log")
        wait_for_text(tmp_path / "first.log", "loading items")
        while not calls:
            time.sleep(0.1)
        second = run_cli([*run, "steady"], env, tmp_path / "second.log", timeout=180)
        assert first.wait(timeout=120) == 0, (tmp_path / "first.log").read_text()

    assert calls == ["flaky", "flaky", "steady"], second.output
    assert second.returncode == 0, second.output
    assert "waiting for run " in second.output and "(source flaky)" in second.output
