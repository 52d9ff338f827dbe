"""Which process runs a Dagster run, and whether that process is still alive.

`sourcegate run` executes in process, so the CLI process is the run worker. Each run it starts
carries a `sourcegate/process` tag: host name, pid, the process's start time (so a reused pid is
never mistaken for the original process) and its pid space. The pid space (boot id and pid
namespace) says whether a pid can be checked from here: the same host name may hide another
container, and a laptop's host name changes with its network. Runs started elsewhere (the
daemon's run workers under `make dev`) are identified by the pid Dagster itself records in the
run's engine events.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROCESS_TAG = "sourcegate/process"


@dataclass(frozen=True)
class RunProcess:
    """The process a run executes in: host, pid, start time (clock ticks) and pid space."""

    host: str
    pid: int
    start_ticks: int | None = None
    pid_space: str = ""

    def as_tag(self) -> str:
        """The `sourcegate/process` tag value."""
        ticks = "" if self.start_ticks is None else str(self.start_ticks)
        return f"{self.host}|{self.pid}|{ticks}|{self.pid_space}"

    @classmethod
    def from_tag(cls, value: str) -> RunProcess | None:
        """Parse a `sourcegate/process` tag; None when it is malformed."""
        parts = value.split("|")
        if len(parts) not in (3, 4) or not parts[1].isdigit():
            return None
        ticks = int(parts[2]) if parts[2].isdigit() else None
        return cls(parts[0], int(parts[1]), ticks, parts[3] if len(parts) == 4 else "")

    @property
    def is_local(self) -> bool:
        """True when this process's pid can be checked from here (same pid space)."""
        if self.pid_space and this_pid_space():
            return self.pid_space == this_pid_space()
        return self.host == this_host()

    def is_alive(self) -> bool:
        """True while the same process (same pid and start time) still runs on this host."""
        if not pid_is_running(self.pid):
            return False
        if self.start_ticks is None:
            return True
        return process_start_ticks(self.pid) == self.start_ticks


@cache
def this_host() -> str:
    """This machine's host name, as recorded in run tags."""
    return socket.gethostname()


@cache
def this_pid_space() -> str:
    """Boot id and pid namespace: processes with the same value can check each other's pids."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{boot}:{namespace}"


def current_process() -> RunProcess:
    """The RunProcess of the calling process."""
    pid = os.getpid()
    return RunProcess(this_host(), pid, process_start_ticks(pid), this_pid_space())


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None where /proc is missing."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None  # field 22 of the whole line: starttime


def pid_is_running(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie waiting for its parent to reap it."""
    fields = _proc_stat(pid)
    if fields is not None:
        return fields[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return Path("/proc").is_dir() is False  # /proc exists but has no entry: gone


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after its closing ')' do not.
    return stat.rsplit(")", 1)[1].split()


def started_before(pid: int, timestamp: float) -> bool | None:
    """Whether ``pid`` started before ``timestamp`` (epoch seconds); None when unknown."""
    ticks = process_start_ticks(pid)
    boot = _boot_time()
    if ticks is None or boot is None:
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK") <= timestamp + 1.0


@cache
def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None
