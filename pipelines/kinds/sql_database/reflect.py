"""A SQL source's columns before loading, reflected from the database (deep validation only).

Reflection needs the database: it runs only when the URL's secret is set, gives up after a
few seconds, and says nothing when the database cannot be reached, so `validate` stays usable
offline (a run then reports a check on a missing column from the loaded table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.kinds.base import KnownColumns

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec

CONNECT_TIMEOUT_SECONDS = 3


def reflected_columns(spec: SourceSpec) -> dict[str, KnownColumns]:
    """Each listed table's columns as they will land (dlt's naming); {} when unreachable."""
    from pipelines.governance.secrets import MissingSecretError, resolve_secrets

    sql = spec.sql_database
    try:
        url = resolve_secrets(sql.credentials.model_dump(), spec.name)
    except MissingSecretError:
        return {}
    import sqlalchemy as sa

    from pipelines.governance.pii_rules import dlt_naming

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return {}  # not a URL: the run says so, naming the secret
    if parsed.get_backend_name() == "sqlite" and not _existing_file(parsed.database):
        return {}  # connecting would create an empty database file

    naming = dlt_naming()
    found: dict[str, KnownColumns] = {}
    engine = None
    try:
        engine = sa.create_engine(url, connect_args=_timeout_args(url))
        inspector = sa.inspect(engine)
        for table in sql.tables:
            columns = inspector.get_columns(table.name, schema=sql.schema_)
            names = [naming.normalize_identifier(c["name"]) for c in columns]
            found[table.name] = KnownColumns(names, f"the database's table {table.name}")
    except Exception:  # unreachable, no such table, no driver: the run says it plainly
        return found
    finally:
        if engine is not None:
            engine.dispose()
    return found


def _existing_file(database: str | None) -> bool:
    from pathlib import Path

    return bool(database) and database != ":memory:" and Path(database).is_file()


def _timeout_args(url: str) -> dict[str, int]:
    """A connect timeout where the driver takes one (PostgreSQL and MySQL drivers do)."""
    scheme = url.split(":", 1)[0]
    if scheme.startswith(("postgresql", "mysql")):
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return {}
