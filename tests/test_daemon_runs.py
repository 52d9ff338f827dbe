"""A run launched through the daemon (the `make dev` setup) whose worker is SIGKILLed.

`dagster dev` runs the webserver, the daemon and a code server with the repo's dagster.yaml.
Runs are launched as the UI launches them, over GraphQL. A run's step holds the warehouse slot
while it waits on a loopback API; then the run worker and its step process are killed. With
run monitoring on, the run is marked failed and its slot freed without any other command. A
`sourcegate run` killed while it holds the warehouse is released by the dead-run sensor.
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
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.cli_processes import REPO, kill_group, run_cli, start_paused
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


@dataclass
class DagsterDev:
    """A running `dagster dev`, its environment, and the gate of the API it loads from."""

    port: int
    env: dict[str, str]
    api: FakeApi
    gate: threading.Event
    root: Path

    def launch(self) -> str:
        """Launch a run of slow_api as the UI does (GraphQL); return its run id."""
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=120)
        return client.submit_job_execution("__ASSET_JOB", asset_selection=[["slow_api", "items"]])


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """`dagster dev` on a free port with its own home, sources and warehouse, for the module."""
    root = tmp_path_factory.mktemp("daemon")
    gate = threading.Event()

    def items(request: Request):
        gate.wait(timeout=120)
        return json_response(200, {"data": [{"id": i, "name": f"item {i}"} for i in range(5)]})

    with serve(FakeApi(token="slow-token", routes={"/items": items})) as api:
        sources = root / "sources"
        sources.mkdir()
        (sources / "slow_api.yaml").write_text(SPEC.format(base_url=api.base_url))
        env = isolated_env(
            root,
            SOURCEGATE_SOURCES=str(sources),
            SOURCEGATE_PII_SALT="daemon",
            SLOW_API_TOKEN="slow-token",
        )
        home = Path(env["DAGSTER_HOME"])
        home.mkdir()
        shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
        port = _free_port()
        log = root / "dagster_dev.log"
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
            yield DagsterDev(port, env, api, gate, root)
        finally:
            gate.set()
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


def test_a_killed_daemon_run_worker_frees_its_slot_and_a_later_run_succeeds(
    dev: DagsterDev, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance, DagsterRunStatus

    monkeypatch.setenv("DAGSTER_HOME", dev.env["DAGSTER_HOME"])
    run_id = dev.launch()
    _wait(lambda: dev.api.requests_to("/items"), 180, "the run's step to call the API")
    with DagsterInstance.get() as instance:
        runs = [(r.run_id[:8], r.status, r.tags) for r in instance.get_runs()]
        assert _slot_holders(instance) == {run_id}, runs
        worker = _run_worker_pid(instance, run_id)
    killed = _kill_tree(worker)
    assert len(killed) >= 2, killed  # the run worker and its step process
    dev.gate.set()

    def released() -> bool:
        with DagsterInstance.get() as instance:
            run = instance.get_run_by_id(run_id)
            return run.status == DagsterRunStatus.FAILURE and not _slot_holders(instance)

    _wait(released, 90, "run monitoring to fail the run and free its slot")

    # The daemon may also retry the failed run (run_retries in dagster.yaml); either way a later
    # run succeeds and every item lands once.
    later = run_cli(["run", "slow_api"], dev.env, dev.root / "later.log", timeout=180)
    assert later.returncode == 0, later.output
    assert "loaded 5 rows" in later.output
    with duckdb.connect(dev.env["SOURCEGATE_WAREHOUSE"], read_only=True) as con:
        assert con.sql("select count(*) from slow_api.items").fetchone() == (5,)


def test_a_killed_cli_run_does_not_block_the_daemons_runs(
    dev: DagsterDev, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run monitoring cannot see a CLI process; the dead-run sensor releases its slot."""
    from dagster import DagsterInstance, DagsterRunStatus

    monkeypatch.setenv("DAGSTER_HOME", dev.env["DAGSTER_HOME"])
    dev.gate.set()
    paused = start_paused(["run", "slow_api"], dev.env, dev.root / "cli.log", "normalize")
    with DagsterInstance.get() as instance:
        (cli_run,) = _slot_holders(instance)
    kill_group(paused)

    run_id = dev.launch()

    def succeeded() -> bool:
        with DagsterInstance.get() as instance:
            return instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS

    _wait(succeeded, 150, "the UI-launched run to get the warehouse and succeed")
    with DagsterInstance.get() as instance:
        assert instance.get_run_by_id(cli_run).status == DagsterRunStatus.FAILURE


def _slot_holders(instance) -> set[str]:
    return {s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


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
