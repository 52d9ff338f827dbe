"""Checks to suggest for a source's tables, computed in DuckDB on the rows a read landed.

`sourcegate preview` prints them for pasting under `checks:`, so each must hold on the full
data, not only on the rows displayed. They are computed on up to `SAMPLE_LIMIT` rows per table,
and `unique` and `references` need evidence that a small sample cannot fake:

- `not_null` when the sample (2 rows or more) has no nulls;
- `unique` for a declared one-column primary key, or for an id column (`id`, or the table's
  own `contact_id`, never another entity's such as `campaign_id` in `ad_spend`) whose values
  were all distinct across at least `UNIQUE_MIN_ROWS` rows; a distinct email, subject or
  amount in a sample is luck, not a key; `unique_combination` for a declared compound key;
- `in_set` for 2 to `SMALL_SET` text values, with at least twice as many rows as values;
- `references` when every value of a column is a key of another table of the source;
- `row_count_between` with `min: 1`.

Nothing is suggested for masked columns (personal data with no rule), and no raw-value check
for hashed ones. Plain SQL on the connection given: neither dlt nor Great Expectations is
imported, so preview stays fast.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.runtime.warehouse import quote_identifier
from quality.key_names import id_owner, mentions, same_entity

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec

SAMPLE_LIMIT = 1000
UNIQUE_MIN_ROWS = 200
SMALL_SET = 10
MIN_ROWS = 2

_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
# The types a key has, in families whose values compare with each other.
_KEY_FAMILIES = {
    "VARCHAR": "text",
    "UUID": "uuid",
    **dict.fromkeys(_INTEGERS, "integer"),
    **dict.fromkeys((f"U{t}" for t in _INTEGERS), "integer"),
}
# YAML 1.1 (PyYAML) reads these plain words, in any case, as booleans or null, not as text.
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
# Words that stay text in a YAML flow list without quotes (no `:`, `,`, `#`, brackets).
_PLAIN = re.compile(r"[A-Za-z][\w.-]*( [\w.-]+)*", re.ASCII)


@dataclass(frozen=True)
class _Column:
    name: str
    family: str | None  # text, uuid or integer: the types a key can have
    nulls: int
    distinct: int
    values: list[Any]  # the sorted non-null values when they are few text values, else []


@dataclass(frozen=True)
class _Table:
    name: str
    relation: str  # `"schema"."table"`
    sample: str  # the same, limited to the sample's rows
    rows: int
    columns: dict[str, _Column]
    key: str | None  # its one-column key: the declared primary key, else an all-distinct `id`


def suggest_checks(
    con: Any,
    schema: str,
    tables: list[str],
    primary_keys: dict[str, list[str]],
    masked: dict[str, list[str]],
    sample_limit: int = SAMPLE_LIMIT,
    hashed: dict[str, list[str]] | None = None,
) -> dict[str, list[str]]:
    """YAML flow lines (`- {expect: not_null, column: email}`) per table, for checks that hold.

    Args:
        con: a DuckDB connection to the database holding ``schema``.
        schema: where the tables are (the source's name).
        tables: the tables to suggest for; a missing or empty table gets no entry.
        primary_keys: each table's declared primary key, as its columns landed.
        masked: each table's personal columns with no PII rule; they get nothing.
        sample_limit: at most this many rows of each table are read.
        hashed: each table's hashed columns; they get no raw-value check (`in_set`).
    """
    profiles = {}
    for table in tables:
        found = _profile(con, schema, table, primary_keys.get(table, []), sample_limit)
        if found is not None and found.rows >= MIN_ROWS:
            profiles[table] = found
    suggestions = {}
    for table, profile in profiles.items():
        lines = []
        declared = [c for c in primary_keys.get(table, []) if c in profile.columns]
        for column in profile.columns.values():
            if column.name.startswith("_") or _covered(column.name, masked.get(table, [])):
                continue
            if column.nulls == 0:
                lines.append(_line("not_null", column=column.name))
            if _unique(profile, column, declared):
                lines.append(_line("unique", column=column.name))
            if _small_set(profile, column) and column.name not in (hashed or {}).get(table, []):
                lines.append(_line("in_set", column=column.name, values=column.values))
            target = _referenced(con, profile, column, profiles, masked)
            if target:
                lines.append(_line("references", column=column.name, to=target))
        if len(declared) > 1 and _distinct_rows(con, profile, declared) == profile.rows:
            lines.append(_line("unique_combination", columns=declared))
        lines.append(_line("row_count_between", min=1))
        suggestions[table] = lines
    return suggestions


def suggest_for_source(
    con: Any, spec: SourceSpec, masked: dict[str, list[str]], sample_limit: int = SAMPLE_LIMIT
) -> dict[str, list[str]]:
    """`suggest_checks` for every table of ``spec``, with its declared keys and hashed columns."""
    from pipelines.governance.pii_rules import CompiledPiiRules

    rules = CompiledPiiRules(spec.pii)
    tables = spec.table_names()
    hashed = {
        table: [
            column
            for (column,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [spec.name, table],
            ).fetchall()
            if rules.action_for(table, column) == "hash"
        ]
        for table in tables
    }
    keys = declared_primary_keys(spec)
    return suggest_checks(con, spec.name, tables, keys, masked, sample_limit, hashed)


def declared_primary_keys(spec: SourceSpec) -> dict[str, list[str]]:
    """Each table's primary key as the source file declares it, named as the columns land."""
    from pipelines.kinds import kind_of
    from pipelines.spec.fields import ValidationNaming, landed_column

    naming = ValidationNaming()
    return {
        table: [naming.normalize_path(landed_column(c)) for c in key]
        for table, key in kind_of(spec).primary_keys(spec).items()
        if key
    }


def _profile(con: Any, schema: str, table: str, key: list[str], limit: int) -> _Table | None:
    """Row, null and distinct counts of a table's first ``limit`` rows, in one scan."""
    columns = [
        (name, dtype)
        for name, dtype in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        if not name.startswith("_dlt")
    ]
    if not columns:
        return None
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    # DuckDB keeps insertion order, so every query over this reads the same rows.
    sample = f"(select * from {relation} limit {int(limit)})"
    parts = ["count(*)"]
    for name, dtype in columns:
        quoted = quote_identifier(name)
        parts.append(f"count(*) filter (where {quoted} is null)")
        parts.append(f"count(distinct {quoted})" if _scalar(dtype) else "0")
        parts.append(
            f"case when count(distinct {quoted}) <= {SMALL_SET} then list(distinct {quoted} "
            f"order by {quoted}) filter (where {quoted} is not null) end"
            if dtype == "VARCHAR"
            else "null"
        )
    rows, *stats = con.execute(f"select {', '.join(parts)} from {sample}").fetchone()
    found = {}
    for index, (name, dtype) in enumerate(columns):
        nulls, distinct, values = stats[3 * index : 3 * index + 3]
        found[name] = _Column(name, _KEY_FAMILIES.get(dtype), nulls, distinct, values or [])
    own = key[0] if len(key) == 1 and key[0] in found else None
    ident = found.get("id")
    if own is None and ident and rows and ident.nulls == 0 and ident.distinct == rows:
        own = "id"
    return _Table(table, relation, sample, rows, found, own)


def _scalar(dtype: str) -> bool:
    """Whether values of ``dtype`` are single values (lists, structs and maps are not)."""
    return not dtype.endswith("]") and not dtype.startswith(("STRUCT", "MAP", "UNION"))


def _covered(column: str, names: list[str]) -> bool:
    """Whether ``column`` is one of ``names``, nested in one, or holds one."""
    return any(
        column == name or column.startswith(f"{name}__") or name.startswith(f"{column}__")
        for name in names
    )


def _unique(table: _Table, column: _Column, declared: list[str]) -> bool:
    """A declared one-column key without duplicates, or a key-like column distinct in 200+ rows."""
    if declared == [column.name]:
        return column.distinct + column.nulls == table.rows
    if column.nulls or column.distinct != table.rows or table.rows < UNIQUE_MIN_ROWS:
        return False
    if column.family is None:
        return False
    owner = id_owner(column.name)
    if owner is not None:  # `id`, or this table's own `<entity>_id`; never another entity's id
        return owner == "" or ("__" not in owner and same_entity(owner, table.name))
    # anything else distinct in a sample (an email, a subject, a UTM tag, a time, an amount)
    # is the sample's luck: a full load of 3,000 events repeats them
    return False


def _small_set(table: _Table, column: _Column) -> bool:
    """2 to `SMALL_SET` text values, each seen twice on average."""
    return len(column.values) >= 2 and table.rows >= 2 * len(column.values)


def _referenced(
    con: Any,
    table: _Table,
    column: _Column,
    tables: dict[str, _Table],
    masked: dict[str, list[str]],
) -> str | None:
    """`T.K` when every sampled value of ``column`` is a key of exactly one other table T.

    Targets whose entity the column names (`profile_id` -> `profiles`) win over the others;
    a tie is no suggestion. K is checked on all of T's rows: a key that arrived after T's first
    rows is not an orphan.
    """
    if column.name == table.key or column.family is None or column.distinct == 0:
        return None
    named, other = [], []
    for target in tables.values():
        key = target.columns.get(target.key or "")
        if target is table or key is None or key.family != column.family:
            continue
        if _covered(key.name, masked.get(target.name, [])):
            continue
        named_here = mentions(column.name, target.name)
        # small integers are in every id range: an integer needs a name that says it is a key
        if column.family == "integer" and not named_here and id_owner(column.name) is None:
            continue
        (named if named_here else other).append((target, key))
    candidates = named or other
    if len(candidates) != 1:
        return None
    target, key = candidates[0]
    value, found = quote_identifier(column.name), quote_identifier(key.name)
    orphans = con.execute(
        f"select count(*) from (select distinct {value} as v from {table.sample} "
        f"where {value} is not null) as s "
        f"where not exists (select 1 from {target.relation} as t where t.{found} = s.v)"
    ).fetchone()[0]
    return None if orphans else f"{target.name}.{key.name}"


def _distinct_rows(con: Any, table: _Table, columns: list[str]) -> int:
    """How many distinct combinations of ``columns`` the sample has."""
    quoted = ", ".join(quote_identifier(c) for c in columns)
    query = f"select count(*) from (select distinct {quoted} from {table.sample})"
    return con.execute(query).fetchone()[0]


def _line(expect: str, **fields: Any) -> str:
    """One check as a YAML flow mapping in a list: `- {expect: unique, column: id}`."""
    parts = [f"expect: {expect}"]
    for key, value in fields.items():
        if isinstance(value, list):
            parts.append(f"{key}: [{', '.join(_yaml_scalar(v) for v in value)}]")
        else:
            parts.append(f"{key}: {_yaml_scalar(value)}")
    return f"- {{{', '.join(parts)}}}"


def _yaml_scalar(value: Any) -> str:
    """``value`` as YAML reads it back: a plain word, a number, or a quoted string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a double-quoted YAML one
