"""Which files of a drop are new or changed: a record of every file read, kept in dlt state.

A cursor on the largest modification time skips a file that arrives late with an older mtime
(unzip, `rsync -t`, SFTP keep the sender's). So each file read is recorded by its path relative
to `bucket_url` (what its rows carry in `_source_file`) with its size and mtime, and a file is
read again only when it is new or either changed. The record is dlt resource state: dlt commits
it in the same load package as the rows, so it never moves past data that did not land.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

SEEN_KEY = "files_seen"
# Where `dlt.sources.incremental("modification_date")` on the `filesystem` listing kept its cursor.
_OLD_LISTING = "filesystem"


def fingerprint(item: Any) -> str:
    """Size and modification time of a listed file (dlt's listings carry no etag)."""
    return f"{item.get('size_in_bytes')}:{item['modification_date'].isoformat()}"


def new_or_changed(items: Iterable[Any], state: MutableMapping[str, Any]) -> list[Any]:
    """The listed files never read, or changed since they were read."""
    seen = state.get(SEEN_KEY, {})
    return [item for item in items if seen.get(item["relative_path"]) != fingerprint(item)]


def mark_read(item: Any, state: MutableMapping[str, Any]) -> None:
    """Record ``item`` as read (call once all of its rows were handed to dlt)."""
    state.setdefault(SEEN_KEY, {})[item["relative_path"]] = fingerprint(item)


def migrate_mtime_cursor(
    items: Iterable[Any],
    state: MutableMapping[str, Any],
    source_state: MutableMapping[str, Any],
    loaded_names: Callable[[], set[str] | None],
) -> None:
    """Once: files the old mtime cursor had passed count as read, so nothing is read twice.

    A file the cursor passed whose name the table does not hold was skipped by it (it arrived
    late with an older mtime): it stays unread, so this run loads it.

    Args:
        items: the files listed now.
        state: this resource's state, where the record of files read goes.
        source_state: the source's state, which holds the old cursor.
        loaded_names: the `_source_file` names the table holds (None if it cannot tell).
    """
    if SEEN_KEY in state:
        return
    from dlt.common.time import ensure_pendulum_datetime

    listing = source_state.get("resources", {}).get(_OLD_LISTING, {})
    cursor = listing.get("incremental", {}).get("modification_date", {}).get("last_value")
    state[SEEN_KEY] = {}
    if cursor is None:
        return
    last = ensure_pendulum_datetime(cursor)
    names = loaded_names()
    for item in items:
        # the version with the cursor wrote the file's name alone into `_source_file`
        if item["modification_date"] <= last and (names is None or item["file_name"] in names):
            mark_read(item, state)
    listing.pop("incremental", None)
