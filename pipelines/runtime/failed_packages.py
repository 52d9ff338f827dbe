"""Drop load packages that can never load, so a bad input fails one run and not every later one.

A package whose load failed for good (a contract violation, a value the warehouse refuses) is
replayed by dlt on every later run and fails the same way. dlt's `abort_packages` removes it and
rewinds the local state; the cursor and file state in the warehouse never moved, because dlt
restores state only from committed loads. What dlt does not undo is what the package's finished
jobs already wrote:
- `append` tables hold those rows under the package's `_dlt_load_id`: they are deleted here,
  with the rows their nested tables (which have no `_dlt_load_id`) hang off them, so the next
  run (which extracts the same data again) does not land them twice;
- `merge` tables, and `replace` tables loaded through a staging dataset (`insert-from-staging`),
  change only when the SQL job that copies the staged rows in ran; merging the same rows again
  changes nothing, and replacing them again gives the same table;
- `replace` tables loaded with `truncate-and-insert` were emptied when the package started
  loading; the next run fills them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOAD_ID_COLUMN = "_dlt_load_id"


@dataclass(frozen=True)
class DroppedPackage:
    """A load package that was dropped, why, and the tables it changed before it failed."""

    load_id: str
    reason: str
    changed_tables: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        """A JSON-able record for Dagster metadata (no row data: the reason is value-free)."""
        return {
            "load_id": self.load_id,
            "reason": self.reason,
            "changed_tables": self.changed_tables,
        }


def abort_failed_packages(pipeline: Any, reason: str) -> list[DroppedPackage]:
    """Abort every pending package of ``pipeline`` and undo its finished `append` jobs.

    Unlike dlt's `Pipeline.drop_pending_packages` (which only aborts), this also removes the
    rows those jobs wrote.

    Args:
        pipeline: the dlt pipeline whose packages failed.
        reason: why they cannot load, without values from the data.

    Returns:
        One record per dropped package, oldest first ([] if nothing was pending).
    """
    normalized = list(pipeline.list_normalized_load_packages())
    pending = sorted(set(pipeline.list_extracted_load_packages()) | set(normalized))
    if not pending:
        return []
    pipeline.abort_packages()
    # Only the oldest normalized package can have started loading; dlt loads them in order.
    loading = normalized[0] if normalized else None
    return [
        DroppedPackage(load_id, reason, _undo_finished_jobs(pipeline, load_id))
        if load_id == loading
        else DroppedPackage(load_id, reason)
        for load_id in pending
    ]


def describe_drop(dropped: list[DroppedPackage]) -> str:
    """What a failed run left in the warehouse, for the end of its failure message."""
    changed = sorted({table for package in dropped for table in package.changed_tables})
    if not changed:
        return "nothing was loaded; the next run extracts fresh data"
    return (
        f"{', '.join(changed)} changed before the failure; the next run extracts fresh data "
        "and loads them again"
    )


def _undo_finished_jobs(pipeline: Any, load_id: str) -> list[str]:
    """Delete the rows finished append jobs wrote; return the tables that stay changed."""
    from dlt.common.schema.utils import get_root_table, get_write_disposition

    info = pipeline.get_load_package_info(load_id)
    tables = info.schema.tables
    completed = info.jobs.get("completed_jobs", [])
    finished = {job.job_file_info.table_name for job in completed}
    # merge and staged replace tables: the one SQL job per table chain is named after its root
    copied = {job.job_file_info.table_name for job in completed if _is_sql(job)}
    changed: set[str] = set()
    appended: set[str] = set()
    # not dlt's own tables: dlt ignores their rows of loads that never completed
    for table in info.schema.data_table_names():
        if not _has_jobs(info, table):
            continue
        root = get_root_table(tables, table)["name"]
        disposition = get_write_disposition(tables, table)
        if disposition == "append":
            if table in finished:
                appended.add(root)
        elif root in copied or (disposition == "replace" and _truncated(pipeline, tables, root)):
            changed.add(root)
    for root in sorted(appended):
        if not _delete_appended_rows(pipeline, tables, root, load_id, finished):
            changed.add(root)
    return sorted(changed)


def _is_sql(job: Any) -> bool:
    return job.job_file_info.file_format == "sql"


def _has_jobs(info: Any, table: str) -> bool:
    return any(job.job_file_info.table_name == table for jobs in info.jobs.values() for job in jobs)


def _truncated(pipeline: Any, tables: Any, root: str) -> bool:
    """Whether dlt empties ``root`` before loading it, as it does with `truncate-and-insert`."""
    from dlt.common.destination.utils import resolve_replace_strategy

    client = pipeline.destination_client()
    strategy = resolve_replace_strategy(
        tables[root], client.config.replace_strategy, client.capabilities
    )
    return strategy == "truncate-and-insert"


def _delete_appended_rows(
    pipeline: Any, tables: Mapping[str, Any], root: str, load_id: str, finished: set[str]
) -> bool:
    """Delete the rows ``load_id`` wrote into ``root`` and its nested tables, in one transaction.

    Nested rows carry no load id: they are found through their parents (`_dlt_parent_id` ->
    `_dlt_id`), so children go before parents. Where a parent's job did not finish, its
    children's rows of this load have no parent row at all, and those are the ones deleted.

    Args:
        pipeline: the dlt pipeline the package belonged to.
        tables: the package schema's tables.
        root: an `append` table.
        load_id: the package.
        finished: the tables whose jobs in the package finished.

    Returns:
        False, and nothing deleted, when ``root`` has no `_dlt_load_id` to tell its rows apart.
    """
    from dlt.common.schema.utils import get_nested_tables

    with pipeline.sql_client() as client:
        if not _has_column(client, root, LOAD_ID_COLUMN):
            return False
        existing = _existing_tables(client)
        name = client.make_qualified_table_name
        column = client.escape_column_name
        # table -> SQL selecting the row keys of the rows this load wrote into it
        rows_of_load = {root: f"select {column(_row_key(tables[root]))} from {name(root)} "}
        rows_of_load[root] += f"where {column(LOAD_ID_COLUMN)} = %s"
        through_parents: list[str] = []
        orphans: list[str] = []
        for table in get_nested_tables(tables, root, include_self=False):  # parents first
            child, parent = table["name"], table["parent"]
            if child not in finished or child not in existing or parent not in existing:
                continue
            parent_key = column(_parent_key(table))
            if parent in rows_of_load and parent in finished:
                rows_of_load[child] = (
                    f"select {column(_row_key(table))} from {name(child)} "
                    f"where {parent_key} in ({rows_of_load[parent]})"
                )
                through_parents.append(
                    f"delete from {name(child)} where {parent_key} in ({rows_of_load[parent]})"
                )
            else:
                row_key = column(_row_key(tables[parent]))
                orphans.append(
                    f"delete from {name(child)} as c where not exists "
                    f"(select 1 from {name(parent)} as p where p.{row_key} = c.{parent_key})"
                )
        with _transaction(client):
            for statement in reversed(through_parents):
                client.execute_sql(statement, load_id)
            client.execute_sql(
                f"delete from {name(root)} where {column(LOAD_ID_COLUMN)} = %s", load_id
            )
            for statement in orphans:  # parents first: a child's parent may be one just deleted
                client.execute_sql(statement)
    return True


def _row_key(table: Any) -> str:
    from dlt.common.schema.utils import get_first_column_name_with_prop

    return get_first_column_name_with_prop(table, "row_key") or "_dlt_id"


def _parent_key(table: Any) -> str:
    from dlt.common.schema.utils import get_first_column_name_with_prop

    return get_first_column_name_with_prop(table, "parent_key") or "_dlt_parent_id"


def _transaction(client: Any) -> Any:
    if client.capabilities.supports_transactions:
        return client.begin_transaction()
    return contextlib.nullcontext()


def _existing_tables(client: Any) -> set[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        client.dataset_name,
    )
    return {table for (table,) in rows or []}


def _has_column(client: Any, table: str, column: str) -> bool:
    rows = client.execute_sql(
        "select column_name from information_schema.columns "
        "where table_schema = %s and table_name = %s and column_name = %s",
        client.dataset_name,
        table,
        column,
    )
    return bool(rows)
