"""Explain a value the warehouse refused: which table, which column, what kind of value, what to do.

DuckDB and PostgreSQL reject a value when it cannot be cast to the column's type or is empty in
a required column; dlt's row normalizer raises the same two cases itself. Each is named here
in one line.

Nothing raw leaves the warehouse: a value is never quoted, only its shape (`value_shape`:
`7 EUR` -> `9 XXX`). With ``values=False`` even the shape is left out. `scrub_message` makes
any other error text safe to show or log the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

_SHAPE_CHARS = 40
_MESSAGE_CHARS = 300
_DUCKDB_CAST = re.compile(
    r"Could not convert string '(?P<value>.*?)' to (?P<type>\w+)"
    r"(?: when casting from source column (?P<column>\w+))?"
)
_POSTGRES_CAST = re.compile(r'invalid input syntax for type (?P<type>[\w ]+): "(?P<value>.*?)"')
_POSTGRES_COPY_COLUMN = re.compile(r"COPY (?P<table>\w+), line \d+, column (?P<column>\w+)")
_DUCKDB_NOT_NULL = re.compile(
    r"NOT NULL constraint failed: (?:\w+\.)*(?P<table>\w+)\.(?P<column>\w+)"
)
_DLT_NOT_NULL = re.compile(r"Cannot coerce NULL in table `(?P<table>\w+)` column `(?P<column>\w+)`")
_ARROW_NOT_NULL = re.compile(
    r"Column '(?P<column>\w+)' is declared non-nullable but contains nulls"
)
_POSTGRES_NOT_NULL = re.compile(
    r'null value in column "(?P<column>\w+)" of relation "(?P<table>\w+)" violates not-null'
)
_TYPE_NAMES = {
    "INT64": "bigint",
    "INT32": "bigint",
    "BIGINT": "bigint",
    "INTEGER": "bigint",
    "DOUBLE": "double",
    "FLOAT": "double",
    "DOUBLE PRECISION": "double",
    "BOOLEAN": "bool",
    "DATE": "date",
}


@dataclass(frozen=True)
class RefusedValue:
    """A value the warehouse or dlt refused; ``value`` is None for an empty required value."""

    table: str | None
    column: str | None
    type_name: str | None
    value: str | None

    def explain(self, values: bool = True) -> str:
        """One line: the table, the column, (with ``values``) the value's shape, and the fix."""
        where = f"column '{self.column or '?'}'"
        where += f" of table '{self.table}'" if self.table else ""
        if self.value is None:
            return (
                f"{where} is empty in some rows, but it is a primary key or required column; "
                "fix the export so that every row has a value"
            )
        shape = value_shape(self.value)
        got = (
            f"got a value shaped like '{shape}', which is not"
            if values
            else "got a value that is not"
        )
        return (
            f"{where} {got} a valid {self.type_name or 'value'}; fix the export, or declare the "
            "column as text in the source file's `columns`"
        )


def find_refused_value(chain: Iterable[BaseException]) -> RefusedValue | None:
    """The refused value described by any error in ``chain`` (outermost first), or None."""
    errors = list(chain)
    # dlt job ids are `<table>.<file id>.<format>`, pipes are named after the resource; the
    # warehouse's or Arrow's message may lack the table
    names = [
        getattr(error, "job_id", None) or getattr(error, "pipe_name", None) for error in errors
    ]
    table = next((n.split(".", 1)[0] for n in names if isinstance(n, str)), None)
    for error in errors:
        refused = _from_dlt(error) or _from_message(str(error))
        if refused is not None:
            return RefusedValue(
                refused.table or table, refused.column, refused.type_name, refused.value
            )
    return None


def _from_dlt(error: Any) -> RefusedValue | None:
    if type(error).__name__ == "CannotCoerceColumnException":
        value = str(error.coerced_value) if error.coerced_value is not None else ""
        return RefusedValue(error.table_name, error.column_name, error.to_type, value)
    return None


def _from_message(message: str) -> RefusedValue | None:
    cast = _DUCKDB_CAST.search(message) or _POSTGRES_CAST.search(message)
    if cast:
        copy = _POSTGRES_COPY_COLUMN.search(message)
        column = cast.groupdict().get("column") or (copy.group("column") if copy else None)
        table = copy.group("table") if copy else None
        type_name = _TYPE_NAMES.get(cast.group("type").upper(), cast.group("type").lower())
        return RefusedValue(table, column, type_name, cast.group("value"))
    empty = (
        _DUCKDB_NOT_NULL.search(message)
        or _POSTGRES_NOT_NULL.search(message)
        or _DLT_NOT_NULL.search(message)
        or _ARROW_NOT_NULL.search(message)
    )
    if empty:
        return RefusedValue(empty.groupdict().get("table"), empty.group("column"), None, None)
    return None


def value_shape(value: Any, limit: int = _SHAPE_CHARS) -> str:
    """A value's shape, never the value: each digit becomes 9, each letter X, whitespace a space.

    ASCII punctuation stays (it carries the format: `+`, `@`, `.`, `-`); any other character
    becomes `?`. At most ``limit`` characters, then `…`. `+39 333 1234567` -> `+99 999 9999999`,
    `anna@example.com` -> `XXXX@XXXXXXX.XXX`, None -> `null`.
    """
    if value is None:
        return "null"
    text = str(value)
    shaped = "".join(_shape_char(char) for char in text[:limit])
    return shaped + ("…" if len(text) > limit else "")


def _shape_char(char: str) -> str:
    if char.isdigit():
        return "9"
    if char.isalpha():
        return "X"
    if char.isspace():
        return " "
    return char if char.isascii() and char.isprintable() else "?"


# A URL (its query is cut by `failures.redact`), a quoted literal, or any other word.
_MESSAGE_PARTS = re.compile(
    r"(?P<url>https?://[^\s'\"`<>]+)"
    r"|(?P<quoted>'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`)"
    r"|(?P<word>[^\s'\"`<>()\[\]{},;]+)"
)
# Where an error message starts quoting data: dlt's HTTP errors append the response body,
# its contract errors the offending row's keys.
_FRAME = re.compile(r'^\s*File "[^"]*", line \d+, in \S+$')
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
_DATA_FOLLOWS = re.compile(r"\s*(?:Response:|Offending data item:).*", re.DOTALL)


def scrub_message(message: str) -> str:
    """An error message reduced to what holds no value from the data or a response body.

    Fail-closed rules, for text nobody wrote for us (warehouse, GX, dlt, library errors): only
    the first line is kept, cut where dlt starts quoting a body or row; every quoted literal
    ('…', "…", `…`) and every word with an `@` or 4 or more digits is replaced by its shape;
    URLs stay (with their query removed later by `failures.redact`).
    """
    lines = scrub_text(message).splitlines()
    first = lines[0] if lines else ""
    return first[:_MESSAGE_CHARS] + ("…" if len(first) > _MESSAGE_CHARS else "")


def scrub_text(text: str) -> str:
    """`scrub_message`'s rules on every line of a longer text (a library's log record, a
    traceback): everything after the first quoted body or row is dropped."""
    lines = _DATA_FOLLOWS.sub("", str(text).strip()).splitlines()
    scrubbed = []
    for index, line in enumerate(lines):
        # a traceback's frame lines and the source lines under them come from code, not data
        after_frame = index > 0 and _FRAME.match(lines[index - 1]) is not None
        code = _FRAME.match(line) or (after_frame and line.startswith("    "))
        scrubbed.append(
            line if code or _CARETS.match(line) else _MESSAGE_PARTS.sub(_scrub_part, line)
        )
    return "\n".join(scrubbed)


def scrub_url(url: str) -> str:
    """``url`` with each path segment that looks like data shaped: a child resource's URL holds
    its parent's values (`/members/anna@x.io/orders` -> `/members/XXXX@X.XX/orders`)."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    segments = [
        value_shape(unquote(s)) if _looks_like_data(unquote(s)) else s for s in path.split("/")
    ]
    return f"{scheme}{sep}{host}{slash}{'/'.join(segments)}"


def _looks_like_data(text: str) -> bool:
    return "@" in text or sum(char.isdigit() for char in text) >= 4


def _scrub_part(match: re.Match[str]) -> str:
    if match.group("url"):
        return scrub_url(match.group("url"))
    quoted = match.group("quoted")
    if quoted:
        return quoted[0] + value_shape(quoted[1:-1]) + quoted[-1]
    word = match.group("word")
    if word.startswith("/") and "@" not in word:  # a file path
        return word
    return value_shape(word) if _looks_like_data(word) else word
