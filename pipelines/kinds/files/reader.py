"""File drops (CSV, JSONL, parquet) read in bounded Arrow batches and handed to dlt.

Three readers, one result:
- local files: DuckDB reads them (its parallel CSV/JSON/parquet readers) and applies the PII
  rules in the same SQL query, streaming Arrow batches;
- remote files (s3://, gs://, https:// ...): fsspec through dlt's `filesystem`, read by pyarrow;
- `reader: rows`: dlt's own row readers, kept as the slow reference the fast path is tested on.

dlt stays the loader: it writes the batches as parquet and owns state, contracts and packages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipelines.governance.pii import arrow_transform, hash_sql, hash_sql_parameters, row_transform
from pipelines.kinds.files.precedence import (
    SOURCE_FILE_COLUMN,
    NewerKeys,
    duckdb_filter,
    loaded_file_names,
    newer_keys,
)
from pipelines.kinds.files.prefetch import prefetch
from pipelines.kinds.files.tracking import mark_read, migrate_mtime_cursor, new_or_changed
from pipelines.kinds.files.variant_columns import conform_to_table
from pipelines.runtime.failures import ExplainedError
from pipelines.runtime.warehouse import quote_identifier
from pipelines.spec.models import FilesSpec, PiiRules

BATCH_ROWS = 500_000
BLOCK_BYTES = 16 << 20
_DUCKDB_READERS = {
    "csv": "read_csv({path}, delim = {delimiter}, header = true)",
    "jsonl": "read_json({path}, format = 'newline_delimited')",
    "parquet": "read_parquet({path})",
}


def resolve_bucket_url(bucket_url: str, root: Path) -> str:
    """A local folder relative to the repo becomes absolute; URLs with a scheme pass through."""
    if "://" in bucket_url:
        return bucket_url
    return str((root / bucket_url).resolve())


def local_path(file_url: str) -> str | None:
    """The filesystem path of a `file://` URL, else None."""
    parsed = urlparse(file_url)
    return parsed.path if parsed.scheme in ("", "file") else None


def duckdb_batches(
    path: str,
    files: FilesSpec,
    pii: PiiRules,
    salt: bytes,
    lists_as_text: bool = False,
    newer: NewerKeys | None = None,
) -> Iterator[Any]:
    """Arrow batches of one local file, read by DuckDB with PII applied in the query.

    With ``newer`` (see `pipelines.kinds.files.precedence`), rows whose key the table holds from a
    later-named file are left out in the same query.
    """
    import duckdb

    from pipelines.kinds.arrow_records import flatten_structs

    hashed = pii.columns_for(files.table, "hash")
    dropped = pii.columns_for(files.table, "drop")
    reader = _DUCKDB_READERS[files.format].format(path="$path", delimiter="$delimiter")
    with duckdb.connect() as con:
        described = con.execute(f"describe select * from {reader}", _params(path, files))
        projection, names = [], []
        for column, column_type, *_ in described.fetchall():
            if column in dropped:
                continue
            names.append(column)
            quoted = quote_identifier(column)
            if column in hashed:
                projection.append(f"{hash_sql(column)} as {quoted}")
            elif lists_as_text and (column_type.endswith("[]") or column_type.startswith("MAP")):
                projection.append(f"to_json({quoted})::varchar as {quoted}")  # lists as JSON text
            else:
                projection.append(quoted)
        query = f"select {', '.join(projection)} from {reader}"
        keys = newer.columns_in(names) if newer is not None else None
        if keys:
            query = duckdb_filter(con, query, newer, keys)
        params = _params(path, files) | (hash_sql_parameters(salt) if hashed else {})
        relation = con.execute(query, params)
        for batch in relation.to_arrow_reader(BATCH_ROWS):
            table = flatten_structs(_as_table(batch), lists_as_text)
            # a key inside a nested object exists as a column only once flattened
            yield newer.filter_arrow(table) if newer is not None and not keys else table


def pyarrow_batches(file_obj: Any, files: FilesSpec, lists_as_text: bool = False) -> Iterator[Any]:
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
        yield flatten_structs(_as_table(batch), lists_as_text)


def files_resource(
    files: FilesSpec,
    root: Path,
    pii: PiiRules,
    salt: bytes,
    lists_as_text: bool = False,
    data_type_contract: str = "evolve",
) -> tuple[Any, list[str]]:
    """A dlt resource listing the matching files and yielding their rows, PII applied.

    Also returns the list the resource appends each file's path to as it reads it.

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
    if files.reader == "fast":
        read_file = _fast_reader(files, pii, salt, lists_as_text, data_type_contract == "evolve")
    else:
        read_file = _row_reader(files, pii, salt)

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
        newer = None
        if disposition == "merge":
            paths = [i["relative_path"] for i in chosen]
            listed = [i["relative_path"] for i in items]
            newer = newer_keys(files.table, files.primary_key, paths, listed)
        for item in chosen:
            path = item["relative_path"]
            files_read.append(path)
            yield from read_file(item, newer.after(path) if newer else None)
            if state is not None:
                mark_read(item, state)

    resource = read_files()
    _apply_file_hints(resource, files)
    return resource, files_read


class NoMatchingFiles(ExplainedError):
    """A `replace` table would be emptied because no file matches the glob."""

    def __init__(self, folder: str, file_glob: str) -> None:
        super().__init__(
            f"no file in {folder} matches {file_glob!r}, so there is nothing to replace the "
            "table with; the table was left as it was"
        )


def _fast_reader(
    files: FilesSpec, pii: PiiRules, salt: bytes, lists_as_text: bool, conform: bool
) -> Callable[[Any, NewerKeys | None], Iterator[Any]]:
    """Arrow batches of one file: DuckDB for local files, pyarrow for remote ones."""
    remote_pii = arrow_transform(
        pii.columns_for(files.table, "hash"), pii.columns_for(files.table, "drop"), salt
    )

    def read(item: Any, newer: NewerKeys | None) -> Iterator[Any]:
        path = local_path(item["file_url"])
        if path is not None:
            batches = prefetch(duckdb_batches(path, files, pii, salt, lists_as_text, newer))
        else:
            batches = (
                newer.filter_arrow(remote_pii(batch)) if newer else remote_pii(batch)
                for batch in _open_remote(item, files, lists_as_text)
            )
        for table in batches:
            if conform:
                table = conform_to_table(table, files.table, files.columns or {})
            yield _with_source_file(table, item["relative_path"])

    return read


def _open_remote(item: Any, files: FilesSpec, lists_as_text: bool) -> Iterator[Any]:
    with item.open(mode="rb") as file_obj:
        yield from pyarrow_batches(file_obj, files, lists_as_text)


def _row_reader(
    files: FilesSpec, pii: PiiRules, salt: bytes
) -> Callable[[Any, NewerKeys | None], Iterator[Any]]:
    """dlt's reference readers (dict rows), with the row-path PII transform."""
    from dlt.sources.filesystem.readers import _read_csv, _read_jsonl, _read_parquet

    read_chunks = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[files.format]
    pii_rows = row_transform(
        pii.columns_for(files.table, "hash"), pii.columns_for(files.table, "drop"), salt
    )
    kwargs = {"sep": files.csv_delimiter} if files.format == "csv" else {}

    def read(item: Any, newer: NewerKeys | None) -> Iterator[Any]:
        for chunk in read_chunks([item], **kwargs):
            path = item["relative_path"]
            rows = [dict(pii_rows(row), **{SOURCE_FILE_COLUMN: path}) for row in chunk]
            rows = newer.filter_rows(rows) if newer else rows
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
