"""The lock beside a DuckDB warehouse file that lets one writer process in at a time.

DuckDB allows one writer process. The Dagster pool already serializes the steps of one
instance; this lock also covers processes that do not share an instance, such as two
`sourcegate run` commands with different Dagster homes. It is an flock, so the kernel releases
it when its process dies. The holder (source, run, pid) is written into the file, so that a
waiting process and `sourcegate status` can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

POLL_SECONDS = 0.25
# Handles whose lock must outlive the `with` block: closed, and so released, at process exit.
_KEPT: list[IO[str]] = []


class WarehouseLockTimeoutError(RuntimeError):
    """The lock stayed taken past the wait timeout; the message names the holder."""


class WriterLock:
    """The writer lock of one warehouse file; a no-op when ``path`` is None (PostgreSQL)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: IO[str] | None = None
        self._keep = False

    @contextlib.contextmanager
    def held(
        self,
        holder: str = "",
        timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[WriterLock]:
        """Hold the lock for the block, named after ``holder``; ``on_wait`` hears once of a wait.

        Raises:
            WarehouseLockTimeoutError: when the lock stays taken for ``timeout`` seconds.
        """
        if self.path is None:
            yield self
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            self._acquire(handle, timeout, on_wait)
            _write(handle, json.dumps(_holder_record(holder)))
            self._handle, self._keep = handle, False
            yield self
        finally:
            self._handle = None
            if self._keep:
                _KEPT.append(handle)
            else:
                _write(handle, "")
                handle.close()  # closing the descriptor releases the flock

    def keep_until_exit(self) -> None:
        """Keep holding the lock after the block, until this process ends.

        For a load interrupted while a job thread still writes: releasing the lock would let
        another writer in beside it.
        """
        self._keep = self._handle is not None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now ({pid, host, holder, since}), or None when it is free."""
        if self.path is None or not self.path.exists():
            return None
        with self.path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(self.path)
        return None

    def _acquire(
        self, handle: IO[str], timeout: float | None, on_wait: Callable[[str], None] | None
    ) -> None:
        """Take the lock, polling so that the wait can be announced, bounded and interrupted."""
        deadline = None if timeout is None else time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            holder = describe_holder(_read_holder(self.path))
            if on_wait is not None and not announced:
                on_wait(f"waiting for {holder} to release the warehouse writer lock ...")
                announced = True
            if deadline is not None and time.monotonic() >= deadline:
                raise WarehouseLockTimeoutError(
                    f"gave up after {timeout:.0f}s waiting for the warehouse writer lock, held by "
                    f"{holder}; if that process is gone, the lock is already free: run again"
                )
            time.sleep(POLL_SECONDS)


def describe_holder(record: dict[str, Any] | None) -> str:
    """`crm_contacts (run 1a2b3c4d), pid 4242 on host-a since 12:03:04`, or `another process`."""
    if not record:
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(record.get("since", 0)))
    who = record.get("holder") or "a process"
    return f"{who}, pid {record.get('pid')} on {record.get('host')} since {since}"


def _write(handle: IO[str], text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def _holder_record(holder: str) -> dict[str, Any]:
    host = socket.gethostname()
    return {"pid": os.getpid(), "host": host, "holder": holder, "since": time.time()}


def _read_holder(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text()
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
