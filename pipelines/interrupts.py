"""Ctrl-C and SIGTERM end a command the same way: as a KeyboardInterrupt in the main thread."""

from __future__ import annotations

import contextlib
import signal
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
