"""The columns a local file drop will land with, read from its newest file before loading.

Used by deep validation, so that a check on a column the files do not have fails in
`sourcegate validate`, before any run. DuckDB reads the schema (no rows), as the fast reader
does; names go through dlt's naming convention, objects flatten to `parent__child` as dlt
flattens them, and lists are left out (dlt lands them as nested tables of their own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.kinds.base import KnownColumns
from pipelines.kinds.files.precedence import SOURCE_FILE_COLUMN
from pipelines.spec.models import FilesSpec

_SCHEMA_QUERIES = {
    "csv": "select * from read_csv(?, delim = ?, header = true) limit 0",
    "jsonl": "select * from read_json(?, format = 'newline_delimited') limit 0",
    "parquet": "select * from read_parquet(?) limit 0",
}


def local_drop_columns(files: FilesSpec, root: Path) -> KnownColumns | None:
    """The landed columns of the newest (by name) file of a local drop; None for remote
    drops, an empty drop, or a file DuckDB cannot read (the run reports that one)."""
    if "://" in files.bucket_url:
        return None
    folder = (root / files.bucket_url).resolve()
    matches = (
        sorted(p for p in folder.glob(files.file_glob) if p.is_file()) if folder.is_dir() else []
    )
    if not matches:
        return None
    newest = matches[-1]
    import duckdb

    from pipelines.governance.pii_rules import dlt_naming

    query = _SCHEMA_QUERIES[files.format]
    params = [str(newest), files.csv_delimiter] if files.format == "csv" else [str(newest)]
    try:
        with duckdb.connect() as con:
            schema = con.execute(query, params).fetch_arrow_table().schema
    except duckdb.Error:
        return None
    naming = dlt_naming()
    names: list[str] = []
    for field in schema:
        names.extend(_flattened(naming, naming.normalize_identifier(field.name), field.type))
    names.append(SOURCE_FILE_COLUMN)
    try:
        shown = newest.relative_to(root)
    except ValueError:
        shown = newest
    return KnownColumns(names, f"the header of {shown}")


def _flattened(naming: Any, name: str, arrow_type: Any) -> list[str]:
    """A struct's fields as `name__field` (recursively); lists and maps land as tables."""
    import pyarrow.types as pat

    if pat.is_list(arrow_type) or pat.is_large_list(arrow_type) or pat.is_map(arrow_type):
        return []
    if not pat.is_struct(arrow_type):
        return [name]
    found = []
    for field in arrow_type:
        child = f"{name}__{naming.normalize_identifier(field.name)}"
        found.extend(_flattened(naming, child, field.type))
    return found
