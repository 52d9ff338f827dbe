"""Files: drops of CSV, JSONL or parquet files in a folder or bucket.

`reader` reads them in Arrow batches (DuckDB for local files, pyarrow for remote ones, dlt's
row readers as the reference), `tracking` remembers which files were read, `precedence` keeps
the last file by name winning across loads, `variant_columns` follows dlt's type coercion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.kinds.base import BuildContext, KnownColumns, PathT, SourceKind
from pipelines.spec.fields import as_list

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec


class FilesKind(SourceKind):
    """The `files:` block."""

    key = "files"

    def table_names(self, spec: SourceSpec) -> list[str]:
        """The one table a drop loads."""
        return [spec.files.table]

    def declared_columns(self, spec: SourceSpec) -> dict[tuple[str, str], PathT]:
        """The primary key and the columns given a type."""
        files = spec.files
        found: dict[tuple[str, str], PathT] = {}
        for column in as_list(files.primary_key):
            found.setdefault((files.table, column), ("files", "primary_key"))
        for column in files.columns or {}:
            found.setdefault((files.table, column), ("files", "columns", column))
        return found

    def primary_keys(self, spec: SourceSpec) -> dict[str, list[str]]:
        """The drop's table and its `primary_key`."""
        return {spec.files.table: as_list(spec.files.primary_key)}

    def columns_before_load(self, spec: SourceSpec) -> dict[str, KnownColumns]:
        """The newest local file's columns, as they will land."""
        from pipelines.kinds.files.headers import local_drop_columns
        from pipelines.settings import PROJECT_ROOT

        found = local_drop_columns(spec.files, PROJECT_ROOT)
        return {spec.files.table: found} if found else {}

    def build_source(self, spec: SourceSpec, context: BuildContext) -> Any:
        """One resource that lists the drop and reads the files not read yet."""
        import dlt

        from pipelines.kinds.files.reader import files_resource

        resource, files_read, precedence = files_resource(
            spec.files,
            context.root,
            data_type_contract=spec.schema_contract()["data_type"],
        )
        source = dlt.source(name=spec.name)(lambda: [resource])()
        source.sourcegate_files_read = files_read
        source.sourcegate_precedence = precedence
        return source

    def after_pii(self, source: Any, spec: SourceSpec, context: BuildContext) -> None:
        """The precedence filter: keys compare as they land, so after hashing."""
        for resource in source.resources.values():
            resource.add_step(source.sourcegate_precedence)

    def run_metadata(self, source: Any) -> dict[str, Any]:
        """The files this load read (`files_read`)."""
        return {"files_read": source.sourcegate_files_read}
