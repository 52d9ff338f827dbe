"""The `files:` block: a drop of CSV, JSONL or parquet files in a folder or bucket."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipelines.spec.fields import DataType, StrictModel, WriteDisposition, check_identifier


class FilesSpec(StrictModel):
    """A drop of CSV, JSONL or parquet files in a folder or bucket."""

    bucket_url: str = Field(
        min_length=1, description="Folder relative to the repo, or an fsspec URL."
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
