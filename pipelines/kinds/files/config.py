"""The `files:` block: a drop of CSV, JSONL or parquet files in a folder or bucket."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipelines.settings import DATA_ROOT_ENV, PROJECT_ROOT, data_roots, repo_relative
from pipelines.spec.fields import DataType, StrictModel, WriteDisposition, check_identifier

# fsspec protocols that read this machine's own disk.
_LOCAL_PROTOCOLS = ("file", "local")


def local_folder_problem(bucket_url: str, root: Path = PROJECT_ROOT) -> str | None:
    """Why ``bucket_url`` may not be read, when it is a local folder outside every data root.

    A plain path is taken from ``root`` (the repository); `file://` and `local://` URLs, also
    inside a chain such as `simplecache::file:///x`, are checked as well. Remote URLs pass.
    """
    roots = data_roots()
    for folder in _local_folders(bucket_url, root):
        if not any(folder == r or r in folder.parents for r in roots):
            allowed = " or ".join(f"{repo_relative(r)}/" for r in roots)
            return (
                f"{bucket_url!r} is outside the data root ({allowed}); put the files in a "
                f"folder under it (e.g. {repo_relative(roots[0])}/my_drop), or ask IT to add "
                f"the folder to {DATA_ROOT_ENV}"
            )
    return None


def _local_folders(bucket_url: str, root: Path) -> list[Path]:
    if "://" not in bucket_url:
        return [(root / bucket_url).resolve()]
    found = []
    for part in bucket_url.split("::"):
        protocol, _, rest = part.partition("://")
        if protocol.lower() in _LOCAL_PROTOCOLS:
            found.append((Path.cwd() / rest).resolve())  # fsspec reads relative paths from cwd
    return found


class FilesSpec(StrictModel):
    """A drop of CSV, JSONL or parquet files in a folder or bucket."""

    bucket_url: str = Field(
        min_length=1,
        description="A folder under the data root (data/ unless $SOURCEGATE_DATA_ROOT says "
        "otherwise), relative to the repo, or a remote URL (s3://, gs://, az://, https://).",
    )
    file_glob: str = "*"
    format: Literal["csv", "jsonl", "parquet"]
    table: str
    primary_key: str | list[str] | None = None
    write_disposition: WriteDisposition | None = Field(
        default=None, description="Defaults to merge with a primary key, otherwise replace."
    )
    csv_delimiter: str = Field(default=",", min_length=1, max_length=1)
    reader: Literal["fast", "rows"] = Field(
        default="fast", description="fast: Arrow batches (default); rows: dlt's row readers."
    )
    columns: dict[str, DataType] | None = Field(
        default=None, description="Column types to enforce, e.g. {zip_code: text}."
    )

    _table = field_validator("table")(lambda v: check_identifier(v, "table name"))

    @field_validator("bucket_url")
    @classmethod
    def _inside_data_root(cls, value: str) -> str:
        problem = local_folder_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("file_glob")
    @classmethod
    def _inside_bucket(cls, value: str) -> str:
        if value.startswith(("/", "\\")) or ".." in PurePosixPath(value.replace("\\", "/")).parts:
            raise ValueError(
                f"file_glob {value!r} must stay inside bucket_url: no '..' and no leading '/'; "
                "point bucket_url at the folder instead"
            )
        return value

    @model_validator(mode="after")
    def _merge_needs_key(self) -> FilesSpec:
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError("write_disposition 'merge' needs a primary_key")
        return self

    @property
    def effective_write_disposition(self) -> WriteDisposition:
        """The disposition used when the file leaves it out."""
        if self.write_disposition:
            return self.write_disposition
        return "merge" if self.primary_key else "replace"
