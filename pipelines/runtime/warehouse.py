"""Where data lands: a DuckDB file by default, or PostgreSQL with one setting.

`SOURCEGATE_WAREHOUSE` is either a path to a DuckDB file (default
`warehouse/marketing.duckdb`) or a PostgreSQL URL (`postgresql://user:pass@host:5432/db`).
Each source lands in the schema named after it, in either case.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.runtime.writer_lock import WriterLock
from pipelines.settings import state_root, warehouse_setting

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg2://")


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes, embedded quotes doubled (DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def configured_warehouse() -> Warehouse:
    """The warehouse `$SOURCEGATE_WAREHOUSE` points at."""
    return Warehouse.from_setting(warehouse_setting())


@dataclass(frozen=True)
class Warehouse:
    """A DuckDB file (``path``) or a PostgreSQL database (``url``)."""

    path: Path | None = None
    url: str | None = field(default=None, repr=False)  # holds the password: never shown

    @classmethod
    def from_setting(cls, setting: str | Path) -> Warehouse:
        """Build from `$SOURCEGATE_WAREHOUSE`-style text: a URL or a file path."""
        text = str(setting)
        if text.startswith(_POSTGRES_SCHEMES):
            return cls(url=text)
        return cls(path=Path(text).expanduser().resolve())

    @property
    def kind(self) -> str:
        """`duckdb` or `postgres`."""
        return "postgres" if self.url else "duckdb"

    @property
    def catalog(self) -> str:
        """The database name: DuckDB names the attached file after its stem."""
        if self.url:
            return urlsplit(self.url).path.lstrip("/") or "postgres"
        return self.path.stem

    @property
    def state_dir(self) -> Path:
        """Local dlt working folders and the fallback PII salt, per warehouse.

        Beside a DuckDB file; for other warehouses directly under `$SOURCEGATE_STATE_DIR`
        (default `.warehouse_state/` in the repo, which git ignores), where no salt file is
        kept: they need `$SOURCEGATE_PII_SALT` (`governance.salt.keeps_file_salt`).
        """
        if self.path is not None:
            return self.path.parent / f".{self.path.stem}_dlt"
        digest = hashlib.sha256(self._safe_url().encode()).hexdigest()[:12]
        return state_root() / f"{self.catalog}_{digest}"

    def table_name(self, source: str, table: str) -> str:
        """The fully qualified name, as shown in Dagster's `dagster/table_name`."""
        return f"{self.catalog}.{source}.{table}"

    def destination(self) -> Any:
        """The dlt destination writing to this warehouse.

        `replace` tables load through a staging table and are swapped in one transaction
        (dlt's `insert-from-staging`): its default truncates the table before loading, so a
        load that then fails would leave it empty. Staging schemas are named `_<source>_staging`:
        dlt's default `<source>_staging` could be another source's schema, and source names
        never start with an underscore.
        """
        staged = {
            "replace_strategy": "insert-from-staging",
            "staging_dataset_name_layout": "_%s_staging",
        }
        if self.url:
            from dlt.destinations import postgres

            url = self.url.replace("postgresql+psycopg2://", "postgresql://")
            return postgres(credentials=url, **staged)
        from dlt.destinations import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb(credentials=str(self.path), **staged)

    def sqlalchemy_url(self) -> str:
        """The SQLAlchemy URL GX and the marts connect with."""
        if self.url:
            rest = self.url.split("://", 1)[1]
            return f"postgresql+psycopg2://{rest}"
        return f"duckdb:///{self.path}"

    def connect(self, read_only: bool = True) -> Any:
        """A DuckDB connection to the warehouse file (DuckDB warehouses only)."""
        import duckdb

        if self.path is None:
            raise TypeError("connect() is for DuckDB warehouses; use sqlalchemy_url() for others")
        return duckdb.connect(str(self.path), read_only=read_only)

    def reserved_source_names(self) -> set[str]:
        """Source names that would clash with the DuckDB catalog ("Ambiguous reference")."""
        return {self.catalog} if self.kind == "duckdb" else set()

    def query(self, sql: str) -> list[tuple]:
        """Run one read query and return its rows."""
        if self.path is not None:
            with self.connect(read_only=False) as con:
                return con.execute(sql).fetchall()
        with self._sqlalchemy_transaction() as (con, text):
            return [tuple(row) for row in con.execute(text(sql))]

    def execute_transaction(self, statements: list[str]) -> None:
        """Run ``statements`` in one transaction: all of them take effect, or none."""
        if self.path is not None:
            with self.connect(read_only=False) as con:
                con.execute("begin")
                for statement in statements:
                    con.execute(statement)
                con.execute("commit")
            return
        with self._sqlalchemy_transaction() as (con, text):
            for statement in statements:
                con.execute(text(statement))

    @contextlib.contextmanager
    def _sqlalchemy_transaction(self) -> Iterator[tuple[Any, Any]]:
        """A connection in a transaction (committed on success) and `sqlalchemy.text`."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.sqlalchemy_url())
        try:
            with engine.begin() as con:
                yield con, sa.text
        finally:
            engine.dispose()

    @property
    def writer_lock(self) -> WriterLock:
        """The lock that lets one writer process in at a time (a no-op for PostgreSQL)."""
        path = None if self.path is None else self.path.parent / f".{self.path.name}.lock"
        return WriterLock(path)

    def _safe_url(self) -> str:
        parts = urlsplit(self.url or "")
        host = parts.hostname or ""
        return f"{host}:{parts.port or 5432}/{self.catalog}"

    def __str__(self) -> str:
        """The DuckDB file, or the server without user or password (for logs and messages)."""
        return str(self.path) if self.path is not None else f"postgresql://{self._safe_url()}"

    def __repr__(self) -> str:
        return f"Warehouse({str(self)!r})"
