"""Ctrl-C and SIGTERM end a command the same way: as a KeyboardInterrupt in the main thread."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

# Step-failure metadata marking a load that Ctrl-C or SIGTERM stopped.
INTERRUPTED_METADATA_KEY = "interrupted"


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt just as Ctrl-C (SIGINT) does.

    Dagster installs its own handlers for both signals while a run executes (a step then fails
    with `DagsterExecutionInterruptedError`); outside a run, this handler applies.
    """

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_now_if_threads_linger(code: int) -> None:
    """End the process with ``code`` at once if worker threads still run after an interrupt.

    A dlt load job stopped by Ctrl-C may still be inside a long warehouse statement; the
    interpreter would wait for its thread at exit. Exiting at once rolls that statement back
    (as a crash would), and the next run redoes the job.
    """
    lingering = [
        t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
    ]
    if lingering:
        exit_now(code)


def exit_now(code: int) -> None:
    """Flush the terminal's output and end the process with ``code``, waiting for no thread."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
