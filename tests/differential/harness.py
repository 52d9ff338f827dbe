"""The differential harness: the same source config through plain dlt and through sourcegate.

Side (a), plain dlt, runs dlt as its documentation shows (`rest_api_source(config)`, dlt's
`filesystem` readers, `sql_database`) into its own DuckDB file with `pipeline.run`; no
sourcegate code is in its path, and the dlt settings sourcegate's modules put in `os.environ`
are lifted while it runs. Side (b) writes a source YAML into a temporary sources folder and
materializes it with a real in-process Dagster run (as `tests/conftest.py` does) into another
DuckDB file.

After every run the two warehouses are compared:
- the outcome: success on both sides, or failure on both with the same kind (`HTTP 405`, or
  the innermost exception's class);
- the data tables (dlt's `_dlt_*` system tables left out): table names, column names
  (`_dlt_id` and `_dlt_load_id` included), column types (`information_schema` `data_type`)
  and rows as a multiset. The values of `_dlt_id` and `_dlt_load_id` differ by run, so only
  whether they are set is compared; `_dlt_parent_id` and `_dlt_root_id` are compared as the
  content of the row they point at, so nested tables keep their link to the parent row;
- the incremental state: each resource's `incremental` cursors and their `last_value`, from
  each pipeline's state.

`Report.message()` says what differs, one line per difference.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.settings import environment

SOURCE_NAME = "diff_source"  # the sourcegate source, and the dataset (schema) on both sides
TOKEN_SECRET = "DIFF_SOURCE_TOKEN"  # the bearer token's `{secret: NAME}` in sourcegate runs
SQL_SECRET = "DIFF_SOURCE_DB_URL"
PII_SALT = "differential-salt"
PLAIN = "plain dlt"
SOURCEGATE = "sourcegate"
# Values that differ by run: only their presence is compared
RUN_ID_COLUMNS = ("_dlt_id", "_dlt_load_id")
# Links to another row: compared as the content of the row they point at
LINK_COLUMNS = ("_dlt_parent_id", "_dlt_root_id")
# dlt settings in os.environ that sourcegate's modules set at import; lifted for plain dlt
_DLT_SECTIONS = ("NORMALIZE__", "LOAD__", "EXTRACT__", "DATA_WRITER__", "SCHEMA__", "RUNTIME__")
_SHOWN = 3  # example rows per side in a rows difference


@dataclass
class Table:
    """One data table as landed: column -> data type, and its rows made comparable."""

    columns: dict[str, str]
    rows: list[dict[str, Any]]


@dataclass
class RunResult:
    """What one run of one side left: outcome, tables and incremental cursors."""

    ok: bool
    failure_kind: str | None = None
    failure: str | None = None
    tables: dict[str, Table] = field(default_factory=dict)
    incremental: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe(self) -> str:
        """`succeeded`, or `failed (<kind>): <text>`."""
        if self.ok:
            return "succeeded"
        return f"failed ({self.failure_kind}): {_short(self.failure or '', 160)}"


@dataclass
class Difference:
    """One thing that differs after run ``run`` (1-based)."""

    run: int
    aspect: str  # outcome | tables | columns | types | rows | state
    table: str | None
    detail: str

    def __str__(self) -> str:
        where = f" · {self.table}" if self.table else ""
        return f"run {self.run}{where} · {self.aspect}: {self.detail}"


@dataclass
class Report:
    """Every difference found between two sides, run by run."""

    labels: tuple[str, str]
    left: list[RunResult]
    right: list[RunResult]
    differences: list[Difference]

    @property
    def same(self) -> bool:
        """True when nothing differs."""
        return not self.differences

    def message(self) -> str:
        """A readable account: one line per difference."""
        left, right = self.labels
        if self.same:
            return f"{left} and {right} agree over {len(self.left)} run(s)"
        lines = [f"{left} vs {right}: {len(self.differences)} difference(s)"]
        lines += [f"  {d}" for d in self.differences]
        return "\n".join(lines)

    def summary(self) -> str:
        """One short line: the aspects that differ and where."""
        parts: dict[str, list[str]] = {}
        for d in self.differences:
            parts.setdefault(d.aspect, [])
            if d.table and d.table not in parts[d.aspect]:
                parts[d.aspect].append(d.table)
        return "; ".join(f"{a}({', '.join(t)})" if t else a for a, t in parts.items()) or "same"


# ---------------------------------------------------------------------------------------------
# comparing


def compare_runs(
    left: list[RunResult], right: list[RunResult], labels: tuple[str, str] = (PLAIN, SOURCEGATE)
) -> Report:
    """Compare two sides run by run."""
    differences: list[Difference] = []
    for index, (a, b) in enumerate(zip(left, right, strict=True), start=1):
        differences += compare_run(a, b, index, labels)
    return Report(labels, left, right, differences)


def compare_run(a: RunResult, b: RunResult, run: int, labels: tuple[str, str]) -> list[Difference]:
    """Differences between two results of the same run."""
    la, lb = labels
    found: list[Difference] = []
    if a.ok != b.ok or a.failure_kind != b.failure_kind:
        found.append(Difference(run, "outcome", None, f"{la} {a.describe()}; {lb} {b.describe()}"))
    for name in sorted(set(a.tables) | set(b.tables)):
        if name not in b.tables:
            rows = len(a.tables[name].rows)
            found.append(Difference(run, "tables", name, f"only {la} has it ({rows} rows)"))
            continue
        if name not in a.tables:
            rows = len(b.tables[name].rows)
            found.append(Difference(run, "tables", name, f"only {lb} has it ({rows} rows)"))
            continue
        found += _compare_table(a.tables[name], b.tables[name], name, run, labels)
    if a.incremental != b.incremental:
        found.append(
            Difference(run, "state", None, _state_detail(a.incremental, b.incremental, labels))
        )
    return found


# Columns sourcegate adds on purpose, documented in sources/README.md: the file each row came
# from (file drops), which makes "the last file wins" hold across loads.
SOURCEGATE_COLUMNS = {"_source_file"}


def _compare_table(
    a: Table, b: Table, name: str, run: int, labels: tuple[str, str]
) -> list[Difference]:
    la, lb = labels
    found: list[Difference] = []
    only_a = [c for c in a.columns if c not in b.columns]
    only_b = [c for c in b.columns if c not in a.columns and c not in SOURCEGATE_COLUMNS]
    if only_a or only_b:
        detail = "; ".join(
            f"only {label} has {', '.join(cols)}"
            for label, cols in ((la, only_a), (lb, only_b))
            if cols
        )
        found.append(Difference(run, "columns", name, detail))
    common = [c for c in a.columns if c in b.columns]
    retyped = [c for c in common if a.columns[c] != b.columns[c]]
    if retyped:
        detail = ", ".join(f"{c} {a.columns[c]} vs {b.columns[c]}" for c in retyped)
        found.append(Difference(run, "types", name, f"({la} vs {lb}) {detail}"))
    rows_a = Counter(_project(r, common) for r in a.rows)
    rows_b = Counter(_project(r, common) for r in b.rows)
    if rows_a != rows_b:
        missing, extra = rows_a - rows_b, rows_b - rows_a
        detail = (
            f"{la} {len(a.rows)} rows, {lb} {len(b.rows)} (compared on {len(common)} shared "
            f"columns); {sum(missing.values())} only in {la}{_examples(missing)}; "
            f"{sum(extra.values())} only in {lb}{_examples(extra)}"
        )
        if retyped:
            same_typed = [c for c in common if c not in retyped]
            equal = Counter(_project(r, same_typed) for r in a.rows) == Counter(
                _project(r, same_typed) for r in b.rows
            )
            detail += f"; on the {len(same_typed)} same-typed columns the rows " + (
                "are equal" if equal else "differ too"
            )
        found.append(Difference(run, "rows", name, detail))
    return found


def _project(row: dict[str, Any], columns: list[str]) -> tuple:
    return tuple((c, row.get(c)) for c in columns)


def _examples(rows: Counter) -> str:
    shown = [_render(dict(r)) for r in list(rows)[:_SHOWN]]
    return f", e.g. {' | '.join(shown)}" if shown else ""


def _render(row: dict[str, Any]) -> str:
    ordered = sorted(row.items(), key=lambda kv: (kv[0].startswith("_dlt"), kv[0]))
    return _short("{" + ", ".join(f"{k}={v!r}" for k, v in ordered) + "}", 220)


def _state_detail(a: dict[str, Any], b: dict[str, Any], labels: tuple[str, str]) -> str:
    la, lb = labels
    parts = []
    for resource in sorted(set(a) | set(b)):
        ca, cb = a.get(resource), b.get(resource)
        if ca != cb:
            parts.append(f"{resource}: {la} {_typed(ca)} vs {lb} {_typed(cb)}")
    return "; ".join(parts)


def _typed(cursors: dict[str, Any] | None) -> str:
    if cursors is None:
        return "no incremental state"
    return "{" + ", ".join(f"{p!r}: {v!r} ({type(v).__name__})" for p, v in cursors.items()) + "}"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# reading a warehouse


def snapshot(db: Path, dataset: str) -> dict[str, Table]:
    """The data tables of ``dataset`` in the DuckDB file ``db``, rows made comparable."""
    import duckdb

    if not db.exists():
        return {}
    raw: dict[str, tuple[dict[str, str], list[dict[str, Any]]]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "order by table_name",
            [dataset],
        ).fetchall()
        for (name,) in names:
            if name.startswith("_dlt_"):
                continue  # dlt's system tables: loads, pipeline state, versions
            columns = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [dataset, name],
                ).fetchall()
            )
            relation = con.execute(f'select * from "{dataset}"."{name}"')
            header = [d[0] for d in relation.description]
            raw[name] = (columns, [dict(zip(header, r, strict=True)) for r in relation.fetchall()])
    return _comparable(raw)


def _comparable(raw: dict[str, tuple[dict[str, str], list[dict[str, Any]]]]) -> dict[str, Table]:
    """Rows whose run-bound ids are replaced: `_dlt_id`/`_dlt_load_id` by whether they are set,
    `_dlt_parent_id`/`_dlt_root_id` by a digest of the content of the row they point at."""
    by_id: dict[Any, tuple[str, dict[str, Any]]] = {}
    for name, (_, rows) in raw.items():
        for row in rows:
            if row.get("_dlt_id") is not None:
                by_id[row["_dlt_id"]] = (name, row)
    memo: dict[Any, str] = {}

    def digest(row_id: Any, depth: int = 0) -> str:
        if row_id in memo:
            return memo[row_id]
        found = by_id.get(row_id)
        if found is None or depth > 20:
            return "<dangling>"
        name, row = found
        parent = row.get("_dlt_parent_id")
        text = repr((name, _content(row), digest(parent, depth + 1) if parent else None))
        memo[row_id] = hashlib.sha1(text.encode()).hexdigest()[:10]
        return memo[row_id]

    tables: dict[str, Table] = {}
    for name, (columns, rows) in raw.items():
        comparable = []
        for row in rows:
            out: dict[str, Any] = {}
            for column, value in row.items():
                if column in RUN_ID_COLUMNS:
                    out[column] = None if value is None else "<set>"
                elif column in LINK_COLUMNS:
                    out[column] = None if value is None else f"<row {digest(value)}>"
                else:
                    out[column] = _freeze(value)
            comparable.append(out)
        tables[name] = Table(columns, comparable)
    return tables


def _content(row: dict[str, Any]) -> tuple:
    skip = (*RUN_ID_COLUMNS, *LINK_COLUMNS, *SOURCEGATE_COLUMNS)
    return tuple(sorted(((k, _freeze(v)) for k, v in row.items() if k not in skip), key=_first))


def _first(pair: tuple) -> Any:
    return pair[0]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted(((k, _freeze(v)) for k, v in value.items()), key=_first))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def incremental_state(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """resource -> {cursor path: last_value}, from a dlt pipeline's state."""
    found: dict[str, dict[str, Any]] = {}
    for source in (state.get("sources") or {}).values():
        for resource, resource_state in (source.get("resources") or {}).items():
            cursors = (resource_state or {}).get("incremental") or {}
            if cursors:
                found[resource] = {
                    path: (value or {}).get("last_value") for path, value in cursors.items()
                }
    return found


# ---------------------------------------------------------------------------------------------
# failure kinds


def failure_kind_of(exc: BaseException) -> str:
    """`HTTP <status>` when an HTTP error is in the chain, else the innermost class name."""
    chain = failure_chain(exc)
    for error in chain:
        status = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(status, int):
            return f"HTTP {status}"
    return type(chain[-1]).__name__


def failure_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, as sourcegate's failure explanations walk them."""
    from pipelines.runtime.failures import exception_chain

    return list(exception_chain(exc))


def failure_kind_of_text(text: str) -> str:
    """The same kinds, read from sourcegate's one-line failure (`<source>: load failed: ...`)."""
    status = re.search(r"\bHTTP (\d{3})\b", text)
    if status:
        return f"HTTP {status.group(1)}"
    reason = text.split("load failed: ", 1)[-1]
    named = re.match(r"([A-Z][A-Za-z0-9_]*)(?::|$)", reason)
    return named.group(1) if named else f"explained: {_short(reason, 60)}"


# ---------------------------------------------------------------------------------------------
# the two sides


class PlainDlt:
    """Side (a): plain dlt into ``workdir/plain.duckdb``; one pipeline across runs."""

    def __init__(self, workdir: Path, dataset: str = SOURCE_NAME) -> None:
        self.workdir = workdir
        self.db = workdir / "plain.duckdb"
        self.dataset = dataset

    def run(self, make_data: Callable[[], Any], **run_kwargs: Any) -> RunResult:
        """Build the source or resource with ``make_data`` and `pipeline.run` it."""
        import dlt

        self.workdir.mkdir(parents=True, exist_ok=True)
        # dlt as it comes: no sourcegate settings; no telemetry (these machines are offline)
        with environment({"RUNTIME__DLTHUB_TELEMETRY": "false"}, lift=_DLT_SECTIONS):
            pipeline = dlt.pipeline(
                pipeline_name="plain_dlt",
                pipelines_dir=str(self.workdir / "pipelines"),
                destination=dlt.destinations.duckdb(credentials=str(self.db)),
                dataset_name=self.dataset,
            )
            result = RunResult(ok=True)
            try:
                pipeline.run(make_data(), **run_kwargs)
            except Exception as exc:
                innermost = list(failure_chain(exc))[-1]
                result = RunResult(
                    ok=False,
                    failure_kind=failure_kind_of(exc),
                    failure=f"{type(innermost).__name__}: {innermost!s}"[:2000],
                )
            result.incremental = incremental_state(pipeline.state)
        result.tables = snapshot(self.db, self.dataset)
        return result


def _step_failure_text(data: Any) -> str:
    """sourcegate's one-line failure from a Dagster step failure. When the step raised past
    sourcegate's own failure handling (Dagster then reads `Exceeded max_retries of 0`), the
    innermost error of the chain, as `<class>: <message>`."""
    if data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description
    chain, error = [], data.error
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.cause or error.context
    for error in chain:
        if "load failed:" in error.message:
            return error.message.strip().removeprefix("dagster._core.definitions.events.Failure: ")
    innermost = chain[-1]
    message = innermost.message.strip().split(": ", 1)[-1]
    return f"{innermost.cls_name}: {message}"


class _PlainDumper(yaml.SafeDumper):
    """YAML as a person writes it: a value used twice is written twice (no `&id001` anchors,
    which sourcegate refuses in source files)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class Sourcegate:
    """Side (b): a source YAML in ``workdir/sources``, materialized by a real Dagster run into
    ``workdir/warehouse.duckdb``."""

    def __init__(self, workdir: Path, spec: dict[str, Any], env: dict[str, str]) -> None:
        self.workdir = workdir
        self.spec = spec
        self.env = env
        self.folder = workdir / "sources"
        self.db = workdir / "warehouse.duckdb"
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{spec['name']}.yaml").write_text(
            yaml.dump(spec, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)
        )

    def run(self) -> RunResult:
        """Validate and materialize the source once."""
        from dagster import materialize

        from assets.factory import definitions_for_sources
        from pipelines.spec.registry import load_registry

        name = self.spec["name"]
        settings = {
            "SOURCEGATE_WAREHOUSE": str(self.db),
            "SOURCEGATE_PII_SALT": os.environ.get("SOURCEGATE_PII_SALT", PII_SALT),
            **self.env,
        }
        with environment(settings):
            registry = load_registry(self.folder, reserved_names={self.db.stem})
            if registry.errors or not registry.sources:
                text = "; ".join(str(e) for e in registry.errors) or "no source loaded"
                return RunResult(ok=False, failure_kind="invalid source", failure=text)
            defs = definitions_for_sources(registry.sources, self.db)
            result = materialize(list(defs.assets), resources=defs.resources, raise_on_error=False)
        outcome = RunResult(ok=result.success)
        if not result.success:
            texts = [
                _step_failure_text(e.step_failure_data) for e in result.get_step_failure_events()
            ]
            outcome.failure = " | ".join(t for t in texts if t) or "run failed"
            outcome.failure_kind = failure_kind_of_text(outcome.failure)
        outcome.incremental = self._incremental(name)
        outcome.tables = snapshot(self.db, name)
        return outcome

    def _incremental(self, name: str) -> dict[str, dict[str, Any]]:
        import dlt

        from pipelines.runtime.build import PIPELINE_PREFIX
        from pipelines.runtime.warehouse import Warehouse

        pipelines_dir = Warehouse.from_setting(self.db).state_dir / "pipelines"
        pipeline_name = f"{PIPELINE_PREFIX}_{name}"
        if not (pipelines_dir / pipeline_name).exists():
            return {}
        try:
            pipeline = dlt.attach(pipeline_name=pipeline_name, pipelines_dir=str(pipelines_dir))
        except Exception:
            return {}
        return incremental_state(pipeline.state)


def run_differential(
    make_plain: Callable[[], Any],
    spec: dict[str, Any],
    workdir: Path,
    *,
    runs: int = 1,
    before_run: Callable[[int], contextlib.AbstractContextManager[Any]] | None = None,
    plain_run_kwargs: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Report:
    """Run plain dlt and sourcegate ``runs`` times each, alternating, and compare every run.

    ``before_run(i)`` (0-based) gives a context in which run ``i`` of both sides happens (say,
    the API serving newer data).
    """
    plain = PlainDlt(workdir / "plain")
    gate = Sourcegate(workdir / "sourcegate", spec, env or {})
    left, right = [], []
    for index in range(runs):
        context = before_run(index) if before_run else contextlib.nullcontext()
        with context:
            left.append(plain.run(make_plain, **(plain_run_kwargs or {})))
            right.append(gate.run())
    return compare_runs(left, right)


def sourcegate_runs(
    spec: dict[str, Any],
    workdir: Path,
    *,
    runs: int = 1,
    before_run: Callable[[int], contextlib.AbstractContextManager[Any]] | None = None,
    env: dict[str, str] | None = None,
) -> list[RunResult]:
    """Sourcegate alone, ``runs`` times (to compare two sourcegate settings)."""
    gate = Sourcegate(workdir, spec, env or {})
    results = []
    for index in range(runs):
        with before_run(index) if before_run else contextlib.nullcontext():
            results.append(gate.run())
    return results


def source_spec(block: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A minimal pilot source file holding one kind block (`{"rest_api": {...}}` ...)."""
    return {
        "name": SOURCE_NAME,
        "description": "Differential test source: compared with plain dlt",
        "owner": "team:data-platform",
        "stage": "pilot",
        # a failure is compared, not retried (Dagster would wait 30 s before a retry)
        "retries": {"max_retries": 0},
        **settings,
        **block,
    }


# ---------------------------------------------------------------------------------------------
# REST


def with_base_url(config: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A copy of ``config`` with `client.base_url` set."""
    config = copy.deepcopy(config)
    config.setdefault("client", {})["base_url"] = base_url
    return config


def with_bearer(config: dict[str, Any], token: Any) -> dict[str, Any]:
    """A copy of ``config`` whose client sends ``token`` (a literal or a `{secret: NAME}`)."""
    config = copy.deepcopy(config)
    config.setdefault("client", {})["auth"] = {"type": "bearer", "token": token}
    return config


def rest_plain(config: dict[str, Any], token: str) -> Callable[[], Any]:
    """Plain dlt's side of a REST config: `rest_api_source(config)`, as dlt's docs write it."""

    def make() -> Any:
        from dlt.sources.rest_api import rest_api_source

        return rest_api_source(with_bearer(config, token))

    return make


def rest_spec(config: dict[str, Any], concurrency: int) -> dict[str, Any]:
    """Sourcegate's side: the same config under `rest_api:`, the token as `{secret: NAME}`."""
    return source_spec(
        {"rest_api": with_bearer(config, {"secret": TOKEN_SECRET})},
        max_concurrent_requests=concurrency,
    )


def rest_differential(
    config: dict[str, Any],
    workdir: Path,
    *,
    api: Any,
    versions: tuple[int, ...] = (1,),
    concurrency: int = 8,
) -> Report:
    """A REST config (without `base_url` and auth) against the loopback ``api``
    (`tests.differential.fake_rest.FakeRest`), one run per data version in ``versions``."""
    config = with_base_url(config, api.base_url)
    return run_differential(
        rest_plain(config, api.token),
        rest_spec(config, concurrency),
        workdir,
        runs=len(versions),
        before_run=lambda i: api.at_version(versions[i]),
        env={TOKEN_SECRET: api.token},
    )


# ---------------------------------------------------------------------------------------------
# files and SQL


def files_plain(folder: Path, file_glob: str, fmt: str, table: str) -> Callable[[], Any]:
    """Plain dlt's side of a file drop: `filesystem(...) | read_<format>()`."""

    def make() -> Any:
        from dlt.sources.filesystem import filesystem, read_csv, read_jsonl, read_parquet

        reader = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet}[fmt]
        return (filesystem(bucket_url=str(folder), file_glob=file_glob) | reader()).with_name(table)

    return make


def files_spec(folder: Path, file_glob: str, fmt: str, table: str, **extra: Any) -> dict[str, Any]:
    """Sourcegate's side: a `files:` block with the fast reader."""
    block = {
        "bucket_url": str(folder),
        "file_glob": file_glob,
        "format": fmt,
        "table": table,
        "reader": "fast",
        **extra,
    }
    return source_spec({"files": block})


def sql_plain(url: str, table: str, primary_key: str, cursor: str) -> Callable[[], Any]:
    """Plain dlt's side of one SQL table: `sql_database` with key, merge and a cursor."""

    def make() -> Any:
        import dlt
        from dlt.sources.sql_database import sql_database

        source = sql_database(credentials=url, table_names=[table])
        source.resources[table].apply_hints(
            primary_key=primary_key,
            write_disposition="merge",
            incremental=dlt.sources.incremental(cursor),
        )
        return source

    return make


def sql_spec(table: str, primary_key: str, cursor: str) -> dict[str, Any]:
    """Sourcegate's side: the same table in a `sql_database:` block."""
    block = {
        "credentials": {"secret": SQL_SECRET},
        "tables": [
            {"name": table, "primary_key": primary_key, "incremental": {"cursor_column": cursor}}
        ],
    }
    return source_spec({"sql_database": block})
