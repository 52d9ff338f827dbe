"""Overlap reading with writing: pull the next items on a thread while dlt writes this one."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield from ``items`` while a thread reads up to ``depth`` items ahead (bounded memory).

    Worth it when producing an item releases the GIL (DuckDB and pyarrow do): reading the next
    batch then runs on the second core while dlt writes the current one.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:  # re-raised in the consumer, with its traceback
            buffer.put(exc)

    thread = threading.Thread(target=produce, name="sourcegate-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
