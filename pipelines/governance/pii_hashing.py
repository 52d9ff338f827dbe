"""How a PII value is hashed: salted SHA-256 of the trimmed value, emails lower-cased.

The same value hashes alike in every source and on every path (Python for rows and small
tables, DuckDB over Arrow for large ones), so a hashed email still works as a join key.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pipelines.runtime.warehouse import quote_identifier

WHITESPACE = " \t\r\n\f\v"
# Above this many rows an Arrow column is hashed by DuckDB (vectorized) rather than in Python.
DUCKDB_HASH_MIN_ROWS = 20_000


def is_email_column(column: str) -> bool:
    """Columns whose values are treated as emails (lower-cased before hashing, joined on)."""
    return "email" in column.lower()


def normalize_for_hash(column: str, value: Any) -> str:
    """Trim every value; lower-case emails, so `Ana@X.com ` and `ana@x.com` hash alike."""
    text = str(value).strip(WHITESPACE)
    return text.lower() if is_email_column(column) or "@" in text else text


def hash_value(column: str, value: Any, salt: bytes) -> str | None:
    """Salted SHA-256 hex digest of a normalized value; None stays None."""
    if value is None:
        return None
    return hashlib.sha256(salt + normalize_for_hash(column, value).encode()).hexdigest()


def hash_nested(column: str, value: Any, salt: bytes) -> Any:
    """``value`` with every leaf hashed: a dict keeps its keys and a list its length."""
    if isinstance(value, dict):
        return {key: hash_nested(column, item, salt) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [hash_nested(column, item, salt) for item in value]
    return hash_value(column, value, salt)


def hash_sql(column: str) -> str:
    """The DuckDB expression hashing ``column`` exactly as `hash_value` does.

    It expects the named parameters `$salt` and `$whitespace` (see `hash_sql_parameters`).
    """
    text = f"trim(cast({quote_identifier(column)} as varchar), $whitespace)"
    normalized = f"lower({text})"
    if not is_email_column(column):
        normalized = f"case when contains({text}, '@') then lower({text}) else {text} end"
    return f"sha256($salt || {normalized})"


def hash_sql_parameters(salt: bytes) -> dict[str, str]:
    """Values for the named parameters `hash_sql` uses."""
    return {"salt": salt.decode(), "whitespace": WHITESPACE}


def hash_arrow_column(name: str, column: Any, salt: bytes) -> Any:
    """An Arrow column hashed value by value (leaves of nested values); nulls stay null.

    ``name`` is the column's landed name, which decides whether values are emails.
    """
    import pyarrow as pa
    import pyarrow.types as pat

    nested = pat.is_nested(column.type)
    # DuckDB renders integers and ASCII text as Python does; floats and times may differ.
    kind = column.type
    text = pat.is_string(kind) or pat.is_large_string(kind)
    # DuckDB's lower() differs from Python's outside ASCII (`İ`, final sigma): ASCII text only
    same_text = pat.is_integer(kind) or (text and _all_ascii(column))
    if nested or len(column) < DUCKDB_HASH_MIN_ROWS or not same_text:
        hashed = [hash_nested(name, value, salt) for value in column.to_pylist()]
        return pa.array(hashed) if nested else pa.array(hashed, pa.string())
    import duckdb

    with duckdb.connect() as con:
        con.register("pii_column", pa.table({name: column}))
        query = f"select {hash_sql(name)} from pii_column"
        result = con.execute(query, hash_sql_parameters(salt)).fetch_arrow_table()
        return result.column(0)


def _all_ascii(column: Any) -> bool:
    import pyarrow.compute as pc

    return bool(pc.all(pc.string_is_ascii(column)).as_py() is not False)
