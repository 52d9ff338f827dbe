"""A run launched through the daemon (the `make dev` setup) whose worker is SIGKILLed.

`dagster dev` runs the webserver, the daemon and a code server with the repo's dagster.yaml.
The run is launched as the UI launches it, over GraphQL. Its step holds the warehouse slot
while it waits on a loopback API; then the run worker and its step process are killed. With
run monitoring on, the run is marked failed and its slot freed without any other command.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.cli_processes import REPO, run_cli
from tests.conftest import isolated_env
from tests.fake_api import FakeApi, Request, json_response, serve

pytestmark = pytest.mark.dagster

SPEC = """\
name: slow_api
description: Items from an API that answers slowly
owner: team:test
rest_api:
  client:
    base_url: {base_url}
    auth: {{type: bearer, token: {{secret: SLOW_API_TOKEN}}}}
    paginator: single_page
  resources:
    - name: items
      primary_key: id
      write_disposition: merge
      endpoint: {{path: items, data_selector: data}}
"""
POOL = "duckdb_warehouse"


@pytest.fixture
def slow_api() -> Iterator[tuple[FakeApi, threading.Event]]:
    """An API whose answers wait until the test opens the gate."""
    gate = threading.Event()

    def items(request: Request):
        gate.wait(timeout=120)
        return json_response(200, {"data": [{"id": i, "name": f"item {i}"} for i in range(5)]})

    with serve(FakeApi(token="slow-token", routes={"/items": items})) as api:
        yield api, gate
        gate.set()


@pytest.fixture
def dagster_dev(tmp_path: Path, slow_api) -> Iterator[tuple[int, dict[str, str]]]:
    """`dagster dev` on a free port with its own home, sources and warehouse."""
    api, _ = slow_api
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "slow_api.yaml").write_text(SPEC.format(base_url=api.base_url))
    env = isolated_env(
        tmp_path,
        SOURCEGATE_SOURCES=str(sources),
        SOURCEGATE_PII_SALT="daemon",
        SLOW_API_TOKEN="slow-token",
    )
    home = Path(env["DAGSTER_HOME"])
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    log = tmp_path / "dagster_dev.log"
    with log.open("w") as handle:
        server = subprocess.Popen(
            [str(REPO / ".venv/bin/dagster"), "dev", "-w", "workspace.yaml", "-p", str(port)],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(port, server, log)
        yield port, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_a_killed_daemon_run_worker_frees_its_slot_and_a_later_run_succeeds(
    dagster_dev, slow_api, tmp_path: Path
) -> None:
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    port, env = dagster_dev
    api, gate = slow_api
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=120)
    run_id = client.submit_job_execution("__ASSET_JOB", asset_selection=[["slow_api", "items"]])

    _wait(lambda: api.requests_to("/items"), 180, "the run's step to call the API")
    with DagsterInstance.get() as instance:
        holders = {
            s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
        }
        assert holders == {run_id}
        worker = _run_worker_pid(instance, run_id)
    killed = _kill_tree(worker)
    assert len(killed) >= 2, killed  # the run worker and its step process
    gate.set()

    def released() -> bool:
        with DagsterInstance.get() as instance:
            run = instance.get_run_by_id(run_id)
            slots = instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
            return run.status == DagsterRunStatus.FAILURE and not slots

    _wait(released, 90, "run monitoring to fail the run and free its slot")

    # The daemon may also retry the failed run (run_retries in dagster.yaml); either way a later
    # run succeeds and every item lands once.
    later = run_cli(["run", "slow_api"], env, tmp_path / "later.log", timeout=180)
    assert later.returncode == 0, later.output
    assert "loaded 5 rows" in later.output
    with duckdb.connect(env["SOURCEGATE_WAREHOUSE"], read_only=True) as con:
        assert con.sql("select count(*) from slow_api.items").fetchone() == (5,)


def _run_worker_pid(instance, run_id: str) -> int:
    """The pid Dagster recorded for the run's worker process."""
    from dagster import DagsterEventType

    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        pid = entry.dagster_event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value)
    raise AssertionError("the run recorded no worker pid")


def _kill_tree(pid: int) -> list[int]:
    """SIGKILL ``pid`` and every process below it; return the pids killed."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    return tree


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"dagster dev exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"dagster dev did not answer in {timeout}s:\n{log.read_text()[-3000:]}")
