"""How the benchmarks measure: one process per sample, timed inside or from outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Sample:
    """One measured process: wall seconds (inside or outside) and peak RSS in MB."""

    seconds: float
    rss_mb: float


def case(name: str, *args: object, env: dict[str, str] | None = None) -> Sample:
    """Run `bench.cases NAME ARGS` in a fresh process; it times itself, imports excluded."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.cases", name, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"bench case {name} failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(data["seconds"], data["rss_mb"])


def whole(cmd: list[str], env: dict[str, str] | None = None) -> Sample:
    """Time a whole process from outside; peak RSS from its own rusage (os.wait4)."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: nobody reads it while waiting
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            message = errors.read().decode()[-2000:]
            raise RuntimeError(f"{' '.join(cmd)} exited {status}: {message}")
    return Sample(seconds, usage.ru_maxrss / 1024)


def side_by_side(
    repeat: int, candidate: Callable[[], Sample], baseline: Callable[[], Sample]
) -> tuple[list[Sample], list[Sample]]:
    """Alternate baseline and candidate ``repeat`` times, after one unmeasured warm-up each
    when ``repeat`` > 1 (a single sample per side is the quick look: no warm-up)."""
    if repeat > 1:
        baseline(), candidate()
    cand, base = [], []
    for _ in range(repeat):
        base.append(baseline())
        cand.append(candidate())
    return cand, base


class ApiServer:
    """The loopback API in its own process."""

    def __init__(self, records: int, per_page: int = 1000, delay_ms: float = 0) -> None:
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "bench.api_server",
                "--records",
                str(records),
                "--per-page",
                str(per_page),
                "--delay-ms",
                str(delay_ms),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = f"http://127.0.0.1:{self.proc.stdout.readline().strip()}/"

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()
