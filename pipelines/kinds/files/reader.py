"""File drops (CSV, JSONL, parquet) read in bounded Arrow batches and handed to dlt.

Three readers, one result:
- local files: DuckDB reads them (its parallel CSV/JSON/parquet readers), streaming Arrow
  batches;
- remote files (s3://, gs://, https:// ...): fsspec through dlt's `filesystem`, read by pyarrow;
- `reader: rows`: dlt's own row readers, kept as the slow reference the fast path is tested on.

dlt stays the loader: it writes the batches as parquet and owns state, contracts and packages.
PII rules are applied after the reader, by the step every source kind gets (`governance.pii`);
the precedence filter comes after that, as keys are compared as they land (maybe hashed).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dlt.extract.items_transform import ItemTransform

from pipelines.kinds.files.config import local_folder_problem
from pipelines.kinds.files.precedence import (
    SOURCE_FILE_COLUMN,
    NewerKeys,
    loaded_file_names,
    newer_keys,
)
from pipelines.kinds.files.prefetch import prefetch
from pipelines.kinds.files.tracking import mark_read, migrate_mtime_cursor, new_or_changed
from pipelines.kinds.files.variant_columns import conform_to_table
from pipelines.runtime.failures import ExplainedError
from pipelines.runtime.warehouse import quote_identifier
from pipelines.spec.models import FilesSpec

BATCH_ROWS = 500_000
BLOCK_BYTES = 16 << 20
_DUCKDB_READERS = {
    # the types pandas gives dlt's reader; dlt's own ISO timestamp detection follows (below)
    "csv": "read_csv({path}, delim = {delimiter}, header = true, auto_type_candidates = "
    "['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR'])",
    "jsonl": "read_json({path}, format = 'newline_delimited')",
    "parquet": "read_parquet({path})",
}


def resolve_bucket_url(bucket_url: str, root: Path) -> str:
    """A local folder relative to the repo becomes absolute; URLs with a scheme pass through.

    Checked again when the source runs or previews (validation checked it first): a local
    folder must lie inside the data root, whatever `$SOURCEGATE_DATA_ROOT` says now.

    Raises:
        ExplainedError: when the folder is outside every data root; nothing is read.
    """
    problem = local_folder_problem(bucket_url, root)
    if problem:
        raise ExplainedError(f"files.bucket_url: {problem}")
    if "://" in bucket_url:
        return bucket_url
    return str((root / bucket_url).resolve())


def local_path(file_url: str) -> str | None:
    """The filesystem path of a `file://` URL, else None."""
    parsed = urlparse(file_url)
    return parsed.path if parsed.scheme in ("", "file") else None


def duckdb_batches(path: str, files: FilesSpec) -> Iterator[Any]:
    """Arrow batches of one local file, read by DuckDB."""
    import duckdb

    from pipelines.kinds.arrow_records import flatten_structs

    reader = _DUCKDB_READERS[files.format].format(path="$path", delimiter="$delimiter")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")  # dlt reads a timestamp without offset as UTC
        projection = "*"
        if files.format == "csv":
            projection = _detected_timestamps(con, reader, _params(path, files))
        relation = con.execute(f"select {projection} from {reader}", _params(path, files))
        for batch in relation.to_arrow_reader(BATCH_ROWS):
            yield flatten_structs(_as_table(batch))


def _detected_timestamps(con: Any, reader: str, params: dict[str, str]) -> str:
    """The projection that types text columns as dlt's row path would: a column whose first
    value is an ISO timestamp (dlt's `iso_timestamp` detection) becomes a timestamp with time
    zone, when DuckDB reads every value of it as one. Otherwise it stays text: never a load
    failure or a null where dlt would keep the value."""
    from dlt.common.schema.detections import is_iso_timestamp

    described = con.execute(f"describe select * from {reader}", params).fetchall()
    projection = []
    for column, column_type, *_ in described:
        quoted = quote_identifier(column)
        if column_type == "VARCHAR":
            first = con.execute(
                f"select {quoted} from {reader} where {quoted} is not null limit 1", params
            ).fetchone()
            if first and is_iso_timestamp(str, first[0]) and _all_cast(con, reader, params, quoted):
                projection.append(f"cast({quoted} as timestamptz) as {quoted}")
                continue
        projection.append(quoted)
    return ", ".join(projection)


def _all_cast(con: Any, reader: str, params: dict[str, str], quoted: str) -> bool:
    failing = con.execute(
        f"select count(*) from {reader} "
        f"where {quoted} is not null and try_cast({quoted} as timestamptz) is null",
        params,
    ).fetchone()[0]
    return failing == 0


def pyarrow_batches(file_obj: Any, files: FilesSpec) -> Iterator[Any]:
    """Arrow batches of one open (remote) file, read by pyarrow a block at a time."""
    import pyarrow.csv as pa_csv
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    from pipelines.kinds.arrow_records import flatten_structs

    if files.format == "csv":
        batches = pa_csv.open_csv(
            file_obj,
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(delimiter=files.csv_delimiter),
            # an empty field is a missing value, as DuckDB and dlt's reader see it
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        )
    elif files.format == "jsonl":
        batches = pa_json.open_json(
            file_obj, read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES)
        )
    else:
        batches = pq.ParquetFile(file_obj).iter_batches(batch_size=BATCH_ROWS)
    for batch in batches:
        yield flatten_structs(_as_table(batch))


def files_resource(
    files: FilesSpec,
    root: Path,
    data_type_contract: str = "evolve",
) -> tuple[Any, list[str], Precedence]:
    """A dlt resource listing the matching files and yielding their rows.

    Also returns the list the resource appends each file's path to as it reads it, and the
    `Precedence` step to add after the PII step.

    Every row carries `_source_file`, the file's path relative to `bucket_url` (its name, in a
    flat folder). When one key appears in several files, the file whose path sorts last wins
    (exports are date-stamped, by name or by folder, so that is the newest), within a load
    through dlt's `dedup_sort` and across loads through `pipelines.kinds.files.precedence`. With
    `append` and `merge` only files that are new or changed since they were read are read
    (`pipelines.kinds.files.tracking`); `replace` reads every file and fails if none matches.
    """
    import dlt
    from dlt.sources.filesystem import filesystem

    folder = resolve_bucket_url(files.bucket_url, root)
    listing = filesystem(bucket_url=folder, file_glob=files.file_glob)
    disposition = files.effective_write_disposition
    files_read: list[str] = []
    precedence = Precedence()
    if files.reader == "fast":
        read_file = _fast_reader(files, data_type_contract == "evolve")
    else:
        read_file = _row_reader(files)

    @dlt.resource(name=files.table)
    def read_files() -> Iterator[Any]:
        # the order `dedup_sort` and precedence use, so `files_read` shows which file won
        items = sorted(listing, key=lambda f: f["relative_path"])
        if disposition == "replace":
            if not items:
                raise NoMatchingFiles(folder, files.file_glob)
            chosen, state = items, None
        else:
            state = dlt.current.resource_state()
            migrate_mtime_cursor(
                items,
                state,
                dlt.current.source_state(),
                lambda: loaded_file_names(dlt.current.pipeline(), files.table),
            )
            chosen = new_or_changed(items, state)
        if disposition == "merge":
            paths = [i["relative_path"] for i in chosen]
            listed = [i["relative_path"] for i in items]
            precedence.newer = newer_keys(files.table, files.primary_key, paths, listed)
        for item in chosen:
            files_read.append(item["relative_path"])
            yield from read_file(item)
            if state is not None:
                mark_read(item, state)

    resource = read_files()
    _apply_file_hints(resource, files)
    return resource, files_read, precedence


class Precedence(ItemTransform[Any, dict[str, Any]]):
    """The step leaving out rows whose key the table holds from a later-named file.

    The resource sets `newer` when it starts (merge tables only); the step then filters each
    item (one file's Arrow batch or list of rows) by the file in its `_source_file`.
    """

    def __init__(self) -> None:
        super().__init__(lambda item: item)
        self.newer: NewerKeys | None = None

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """``item`` without the rows a later-named file already holds."""
        if self.newer is None:
            return item
        if hasattr(item, "column_names"):
            if not item.num_rows:
                return item
            newer = self.newer.after(item.column(SOURCE_FILE_COLUMN)[0].as_py())
            return newer.filter_arrow(item) if newer else item
        rows = item if isinstance(item, list) else [item]
        if not rows:
            return item
        newer = self.newer.after(rows[0][SOURCE_FILE_COLUMN])
        return newer.filter_rows(rows) if newer else item


class NoMatchingFiles(ExplainedError):
    """A `replace` table would be emptied because no file matches the glob."""

    def __init__(self, folder: str, file_glob: str) -> None:
        super().__init__(
            f"no file in {folder} matches {file_glob!r}, so there is nothing to replace the "
            "table with; the table was left as it was"
        )


def _fast_reader(files: FilesSpec, conform: bool) -> Callable[[Any], Iterator[Any]]:
    """Arrow batches of one file: DuckDB for local files, pyarrow for remote ones.

    A JSONL or parquet file with lists is read by dlt's row reader instead: dlt lands a list
    as a nested table (`orders__labels`), which an Arrow list column cannot become.
    """
    rows = _row_reader(files)

    def read(item: Any) -> Iterator[Any]:
        path = local_path(item["file_url"])
        if path is not None:
            batches = prefetch(duckdb_batches(path, files))
        else:
            batches = _open_remote(item, files)
        first = next(batches, None)
        if first is not None and _has_lists(first):
            batches.close()
            yield from rows(item)
            return
        for table in itertools.chain([first] if first is not None else [], batches):
            if conform:
                table = conform_to_table(table, files.table, files.columns or {})
            yield _with_source_file(table, item["relative_path"])

    return read


def _has_lists(table: Any) -> bool:
    import pyarrow.types as pat

    return any(
        pat.is_list(f.type) or pat.is_large_list(f.type) or pat.is_map(f.type) for f in table.schema
    )


def _open_remote(item: Any, files: FilesSpec) -> Iterator[Any]:
    with item.open(mode="rb") as file_obj:
        yield from pyarrow_batches(file_obj, files)


def _row_reader(files: FilesSpec) -> Callable[[Any], Iterator[Any]]:
    """dlt's reference readers (dict rows)."""
    from dlt.sources.filesystem.readers import _read_csv, _read_jsonl, _read_parquet

    read_chunks = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[files.format]
    kwargs = {"sep": files.csv_delimiter} if files.format == "csv" else {}

    def read(item: Any) -> Iterator[Any]:
        for chunk in read_chunks([item], **kwargs):
            path = item["relative_path"]
            rows = [dict(row, **{SOURCE_FILE_COLUMN: path}) for row in chunk]
            if rows:
                yield rows

    return read


def _apply_file_hints(resource: Any, files: FilesSpec) -> None:
    disposition = files.effective_write_disposition
    columns: dict[str, dict[str, str]] = {
        name: {"data_type": data_type} for name, data_type in (files.columns or {}).items()
    }
    if disposition == "merge":
        columns[SOURCE_FILE_COLUMN] = {"data_type": "text", "dedup_sort": "desc"}
    resource.apply_hints(
        table_name=files.table,
        primary_key=files.primary_key or (),
        write_disposition=disposition,
        columns=columns or None,
    )


def _params(path: str, files: FilesSpec) -> dict[str, str]:
    params = {"path": path}
    if files.format == "csv":
        params["delimiter"] = files.csv_delimiter
    return params


def _as_table(batch: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch


def _with_source_file(table: Any, path: str) -> Any:
    import pyarrow as pa

    names = pa.repeat(pa.scalar(path, pa.string()), table.num_rows)
    return table.append_column(SOURCE_FILE_COLUMN, names)
