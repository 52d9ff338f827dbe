"""Drop load packages that can never load, so a bad input fails one run and not every later one.

A package whose load failed for good (a contract violation, a value the warehouse refuses) is
replayed by dlt on every later run and fails the same way. dlt's `abort_packages` removes it and
rewinds the local state; the cursor and file state in the warehouse never moved, because dlt
restores state only from committed loads. What dlt does not undo is what the package's finished
jobs already wrote:
- `append` tables hold those rows under the package's `_dlt_load_id`: they are deleted here,
  so the next run (which extracts the same data again) does not land them twice;
- `merge` tables change only when the table's merge job ran, and merging the same rows again
  changes nothing;
- `replace` tables were emptied when the package started loading; the next run fills them.
"""

from __future__ import annotations

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


def drop_pending_packages(pipeline: Any, reason: str) -> list[DroppedPackage]:
    """Abort every pending package of ``pipeline`` and undo its finished `append` jobs.

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
    info = pipeline.get_load_package_info(load_id)
    schema = info.schema
    changed: set[str] = set()
    appended: set[str] = set()
    for job in info.jobs.get("completed_jobs", []):
        table = job.job_file_info.table_name
        if table not in schema.data_table_names():
            continue  # dlt's own tables: state rows of uncommitted loads are ignored by dlt
        disposition = schema.get_table(table).get("write_disposition")
        if disposition == "append":
            appended.add(table)
        elif job.job_file_info.file_format == "sql":
            changed.add(table)  # a merge job that reached the table
    for table in schema.data_table_names():
        if schema.get_table(table).get("write_disposition") == "replace" and _has_jobs(info, table):
            changed.add(table)  # dlt emptied it before the first job ran
    for table in sorted(appended):
        if not _delete_load(pipeline, table, load_id):
            changed.add(table)
    return sorted(changed)


def _has_jobs(info: Any, table: str) -> bool:
    return any(job.job_file_info.table_name == table for jobs in info.jobs.values() for job in jobs)


def _delete_load(pipeline: Any, table: str, load_id: str) -> bool:
    """Delete ``table``'s rows of ``load_id``; False if they cannot be told apart."""
    with pipeline.sql_client() as client:
        qualified = client.make_qualified_table_name(table)
        columns = client.execute_sql(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s and column_name = %s",
            client.dataset_name,
            table,
            LOAD_ID_COLUMN,
        )
        if not columns:
            return False
        client.execute_sql(f"delete from {qualified} where {LOAD_ID_COLUMN} = %s", load_id)
    return True
