"""File drops (CSV, JSONL, parquet) read in bounded Arrow batches and handed to dlt.

Three readers, one result:
- local files: DuckDB reads them (its parallel CSV/JSON/parquet readers) and applies the PII
  rules in the same SQL query, streaming Arrow batches;
- remote files (s3://, gs://, https:// ...): fsspec through dlt's `filesystem`, read by pyarrow;
- `reader: rows`: dlt's own row readers, kept as the slow reference the fast path is tested on.

dlt stays the loader: it writes the batches as parquet and owns state, contracts and packages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipelines.pii import arrow_transform, hash_sql, hash_sql_parameters, row_transform
from pipelines.prefetch import prefetch
from pipelines.spec import FilesSpec, PiiRules
from pipelines.warehouse import quote_identifier

SOURCE_FILE_COLUMN = "_source_file"
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
    path: str, files: FilesSpec, pii: PiiRules, salt: bytes, lists_as_text: bool = False
) -> Iterator[Any]:
    """Arrow batches of one local file, read by DuckDB with PII applied in the query."""
    import duckdb

    from pipelines.arrow_records import flatten_structs

    hashed = pii.columns_for(files.table, "hash")
    dropped = pii.columns_for(files.table, "drop")
    reader = _DUCKDB_READERS[files.format].format(path="$path", delimiter="$delimiter")
    with duckdb.connect() as con:
        described = con.execute(f"describe select * from {reader}", _params(path, files))
        projection = []
        for column, column_type, *_ in described.fetchall():
            if column in dropped:
                continue
            quoted = quote_identifier(column)
            if column in hashed:
                projection.append(f"{hash_sql(column)} as {quoted}")
            elif lists_as_text and (column_type.endswith("[]") or column_type.startswith("MAP")):
                projection.append(f"to_json({quoted})::varchar as {quoted}")  # lists as JSON text
            else:
                projection.append(quoted)
        params = _params(path, files) | (hash_sql_parameters(salt) if hashed else {})
        relation = con.execute(f"select {', '.join(projection)} from {reader}", params)
        for batch in relation.to_arrow_reader(BATCH_ROWS):
            yield flatten_structs(_as_table(batch), lists_as_text)


def pyarrow_batches(file_obj: Any, files: FilesSpec, lists_as_text: bool = False) -> Iterator[Any]:
    """Arrow batches of one open (remote) file, read by pyarrow a block at a time."""
    import pyarrow.csv as pa_csv
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    from pipelines.arrow_records import flatten_structs

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
    files: FilesSpec, root: Path, pii: PiiRules, salt: bytes, lists_as_text: bool = False
) -> tuple[Any, list[str]]:
    """A dlt resource listing the matching files and yielding their rows, PII applied.

    Also returns the list the resource appends each file name to as it reads it.

    Every row carries `_source_file`; when one key appears in several files of a load, the file
    whose name sorts last wins (exports are date-stamped, so that is the newest).
    """
    import dlt
    from dlt.sources.filesystem import filesystem

    listing = filesystem(
        bucket_url=resolve_bucket_url(files.bucket_url, root), file_glob=files.file_glob
    )
    if files.effective_write_disposition != "replace":
        # Only files that are new or changed since the last successful load are read. dlt keeps
        # the cursor in the same load package as the data, so it never moves past lost data.
        listing.apply_hints(incremental=dlt.sources.incremental("modification_date"))
    files_read: list[str] = []
    hashed = pii.columns_for(files.table, "hash")
    dropped = pii.columns_for(files.table, "drop")

    @dlt.transformer(name=files.table)
    def read_files(file_items: list[Any]) -> Iterator[Any]:
        remote_pii = arrow_transform(hashed, dropped, salt)
        for item in sorted(file_items, key=lambda f: f["file_name"]):
            files_read.append(item["file_name"])
            path = local_path(item["file_url"])
            if path is not None:
                batches = prefetch(duckdb_batches(path, files, pii, salt, lists_as_text))
            else:
                batches = (remote_pii(b) for b in _open_remote(item, files, lists_as_text))
            for table in batches:
                yield _with_source_file(table, item["file_name"])

    resource = listing | (
        read_files if files.reader == "fast" else _row_reader(files, hashed, dropped, salt)
    )
    _apply_file_hints(resource, files)
    return resource, files_read


def _open_remote(item: Any, files: FilesSpec, lists_as_text: bool) -> Iterator[Any]:
    with item.open(mode="rb") as file_obj:
        yield from pyarrow_batches(file_obj, files, lists_as_text)


def _row_reader(files: FilesSpec, hashed: list[str], dropped: list[str], salt: bytes) -> Any:
    """dlt's reference readers (dict rows), with the row-path PII transform."""
    import dlt
    from dlt.sources.filesystem.readers import _read_csv, _read_jsonl, _read_parquet

    read = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[files.format]
    pii_rows = row_transform(hashed, dropped, salt)

    @dlt.transformer(name=files.table)
    def read_rows(file_items: list[Any]) -> Iterator[Any]:
        for item in sorted(file_items, key=lambda f: f["file_name"]):
            kwargs = {"sep": files.csv_delimiter} if files.format == "csv" else {}
            for chunk in read([item], **kwargs):
                yield [
                    dict(pii_rows(row), **{SOURCE_FILE_COLUMN: item["file_name"]}) for row in chunk
                ]

    return read_rows


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


def _with_source_file(table: Any, file_name: str) -> Any:
    import pyarrow as pa

    names = pa.repeat(pa.scalar(file_name, pa.string()), table.num_rows)
    return table.append_column(SOURCE_FILE_COLUMN, names)
