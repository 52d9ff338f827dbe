"""Run `sourcegate` as separate processes the way a user or a scheduler does, with time limits.

Output goes to files, not pipes: a process blocked on a full pipe while it holds the warehouse
would stall everything waiting for it. Every wait has a limit, so a regression that hangs a
run fails the test instead of hanging CI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCEGATE = str(REPO / ".venv" / "bin" / "sourcegate")
CRASH_HOOKS = str(Path(__file__).resolve().parent / "crash_hooks")


@dataclass
class Finished:
    """A finished `sourcegate` process: exit code and everything it printed."""

    returncode: int
    output: str


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `sourcegate ARGS` in its own process group, all output into ``log``."""
    with log.open("w") as handle:
        return subprocess.Popen(
            [SOURCEGATE, *args],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_cli(args: list[str], env: dict[str, str], log: Path, timeout: float = 180) -> Finished:
    """Run `sourcegate ARGS` to the end (at most ``timeout`` seconds), output in ``log``."""
    process = start_cli(args, env, log)
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(
            f"`sourcegate {' '.join(args)}` ran over {timeout}s:\n{log.read_text()}"
        ) from None
    return Finished(returncode, log.read_text())


def start_paused(
    args: list[str], env: dict[str, str], log: Path, stage: str, timeout: float = 180
) -> subprocess.Popen:
    """Start `sourcegate ARGS` and return once it pauses at ``stage`` of its dlt load.

    `tests/crash_hooks/sitecustomize.py` pauses it after the first extracted batch, at the
    start of normalize or load, or after the first load job, holding the warehouse.
    """
    marker = log.with_suffix(".paused")
    hooked = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [CRASH_HOOKS, env.get("PYTHONPATH")])),
        "SOURCEGATE_TEST_PAUSE_AT": stage,
        "SOURCEGATE_TEST_PAUSED": str(marker),
    }
    process = start_cli(args, hooked, log)
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"ended before pausing at {stage}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"did not reach {stage} in {timeout}s:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process's whole group, as the OOM killer or a lost node would end it."""
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def wait_for_text(log: Path, text: str, timeout: float = 120) -> None:
    """Wait until ``text`` appears in ``log``."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
