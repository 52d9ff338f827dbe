"""The columns a local file drop will land with, read from its newest file before loading.

Used by deep validation, so that a check on a column the files do not have fails in
`sourcegate validate`, before any run. Only what is cheap and exact is read: a CSV's header
line, a parquet file's schema, or the keys of every record of a small JSONL file (a key that
appears only in a later record would otherwise be missed). Names go through dlt's naming
convention, objects flatten to `parent__child` as dlt flattens them, and lists are left out
(dlt lands them as nested tables of their own).
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipelines.kinds.base import KnownColumns
from pipelines.kinds.files.precedence import SOURCE_FILE_COLUMN
from pipelines.spec.models import FilesSpec

JSONL_MAX_BYTES = 4 << 20  # larger JSONL files are not read at validation time
FILES_READ = 20  # the newest files of a drop whose columns count


def local_drop_columns(files: FilesSpec, root: Path) -> KnownColumns | None:
    """The landed columns of a local drop: every column of its newest `FILES_READ` files (by
    name; empty files skipped), so an optional column missing from today's export still
    counts. None for remote drops, an empty drop, or files that cannot be read cheaply."""
    if "://" in files.bucket_url:
        return None
    folder = (root / files.bucket_url).resolve()
    if not folder.is_dir():
        return None
    matches = sorted(p for p in folder.glob(files.file_glob) if p.is_file() and p.stat().st_size)
    names: dict[str, None] = {}
    for path in matches[-FILES_READ:]:
        stat = path.stat()
        found = _landed_names(
            str(path), stat.st_mtime_ns, stat.st_size, files.format, files.csv_delimiter
        )
        if found is None:
            return None  # one file we cannot read cheaply: say nothing rather than guess
        names.update(dict.fromkeys(found))
    if not names:
        return None
    return KnownColumns([*names, SOURCE_FILE_COLUMN], f"the files in {files.bucket_url}")


@lru_cache(maxsize=256)  # many sources may read one drop; a changed file has a new mtime
def _landed_names(
    path: str, mtime_ns: int, size: int, fmt: str, delimiter: str
) -> tuple[str, ...] | None:
    from pipelines.governance.pii_rules import dlt_naming

    naming = dlt_naming()
    try:
        if fmt == "csv":
            with open(path, newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle, delimiter=delimiter), [])
            if not all(name.strip() for name in header):
                return None  # a blank header cell lands as `column1`...: not worth guessing
            fields: dict[str, Any] = dict.fromkeys(header)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            fields = {f.name: f.type for f in pq.read_schema(path)}
        elif size <= JSONL_MAX_BYTES:
            fields = {}
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        _merge(fields, json.loads(line))
        else:
            return None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return tuple(_flattened(naming, fields))


def _merge(fields: dict[str, Any], record: Any) -> None:
    """Every key of ``record`` into ``fields``, objects as nested dicts, lists as `list`."""
    if not isinstance(record, dict):
        return
    for key, value in record.items():
        if isinstance(value, dict):
            nested = fields.get(key)
            if not isinstance(nested, dict):
                nested = fields[key] = {}
            _merge(nested, value)
        elif isinstance(value, list):
            fields.setdefault(key, list)
        else:
            fields.setdefault(key, None)


def _flattened(naming: Any, fields: dict[str, Any], prefix: str = "") -> list[str]:
    """`{a: {b: None}}` -> [a__b]; lists (JSON arrays, Arrow list and map types) are tables."""
    import pyarrow.types as pat

    found = []
    for name, kind in fields.items():
        landed = f"{prefix}{naming.normalize_identifier(name)}"
        if kind is list or (
            kind is not None
            and not isinstance(kind, dict)
            and (pat.is_list(kind) or pat.is_large_list(kind) or pat.is_map(kind))
        ):
            continue
        if isinstance(kind, dict):
            found.extend(_flattened(naming, kind, f"{landed}__"))
        elif kind is not None and pat.is_struct(kind):
            children = {field.name: field.type for field in kind}
            found.extend(_flattened(naming, children, f"{landed}__"))
        else:
            found.append(landed)
    return found
