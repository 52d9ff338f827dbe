"""Where data lands: the DuckDB warehouse file, its catalog name, and the dlt destination."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WAREHOUSE_ENV = "SOURCEGATE_WAREHOUSE"
SOURCES_ENV = "SOURCEGATE_SOURCES"
DEFAULT_WAREHOUSE = Path("warehouse") / "marketing.duckdb"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def sources_dir() -> Path:
    """The folder of source files: `$SOURCEGATE_SOURCES` or `sources/` in the repo."""
    return Path(os.environ.get(SOURCES_ENV) or PROJECT_ROOT / "sources")


def default_warehouse_path() -> Path:
    """`$SOURCEGATE_WAREHOUSE`, or `warehouse/marketing.duckdb` in the repo."""
    configured = os.environ.get(WAREHOUSE_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return PROJECT_ROOT / DEFAULT_WAREHOUSE


@dataclass(frozen=True)
class Warehouse:
    """A DuckDB warehouse file. Each source lands in the schema named after it."""

    path: Path

    @property
    def catalog(self) -> str:
        """DuckDB names the attached database after the file stem."""
        return self.path.stem

    @property
    def state_dir(self) -> Path:
        """Local dlt working folders, kept beside the warehouse they belong to."""
        return self.path.parent / f".{self.path.stem}_dlt"

    def table_name(self, source: str, table: str) -> str:
        """The fully qualified name, as shown in Dagster's `dagster/table_name`."""
        return f"{self.catalog}.{source}.{table}"

    def destination(self) -> Any:
        """A dlt duckdb destination writing to this file."""
        from dlt.destinations import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb(credentials=str(self.path))

    def connect(self, read_only: bool = True) -> Any:
        """A DuckDB connection to the warehouse file."""
        import duckdb

        return duckdb.connect(str(self.path), read_only=read_only)
