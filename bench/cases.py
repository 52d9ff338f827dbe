"""One benchmark case per process: `python -m bench.cases CASE [ARGS]` prints one JSON line.

Imports happen before the clock starts (except in the whole-process cases, which the runner
times from outside). Each line holds `seconds` and the process's peak RSS in MB.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


def _report(seconds: float, **extra: Any) -> None:
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": round(rss_mb), **extra}))


def files_duckdb(rows: str, fmt: str) -> None:
    """DuckDB alone: CREATE TABLE AS SELECT * FROM read_<fmt>(...)."""
    import duckdb

    from bench.datasets import export

    path = export(int(rows), fmt, DATA)
    reader = {"csv": "read_csv", "jsonl": "read_json", "parquet": "read_parquet"}[fmt]
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(f"{tmp}/raw.duckdb") as con:
        start = time.perf_counter()
        con.execute(f"create table orders as select * from {reader}('{path}')")
        _report(time.perf_counter() - start)


def files_sourcegate(rows: str, fmt: str) -> None:
    """The dlt pipeline run the asset step performs, for a files source over the same export."""
    from bench.datasets import export
    from pipelines.runtime.build import build_pipeline, build_source
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.models import SourceSpec

    path = export(int(rows), fmt, DATA)
    spec = SourceSpec.model_validate(
        {
            "name": "bench_orders",
            "description": "bench",
            "owner": "team:bench",
            "files": {
                "bucket_url": str(path.parent),
                "file_glob": path.name,
                "format": fmt,
                "table": "orders",
            },
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp) / "marketing.duckdb")
        source, pipeline = build_source(spec, warehouse, salt=b"b"), build_pipeline(spec, warehouse)
        start = time.perf_counter()
        pipeline.run(source)
        _report(time.perf_counter() - start)


def api_baseline(base_url: str) -> None:
    """Plain: pages fetched with requests in a loop, each converted to Arrow, inserted."""
    import duckdb
    import pyarrow as pa
    import requests

    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(f"{tmp}/raw.duckdb") as con:
        session = requests.Session()
        start = time.perf_counter()
        page, total, rows = 1, 1, 0
        while page <= total:
            body = session.get(f"{base_url}v1/events", params={"page": page}).json()
            total = body["total_pages"]
            page_table = pa.Table.from_pylist(body["data"])
            if page == 1:
                con.execute("create table events as select * from page_table")
            else:
                con.execute("insert into events select * from page_table")
            rows += page_table.num_rows
            page += 1
        _report(time.perf_counter() - start, rows=rows)


def api_sourcegate(base_url: str, workers: str) -> None:
    """The dlt pipeline run of a rest_api source over the same API."""
    from pipelines.runtime.build import build_pipeline, build_source
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.models import SourceSpec

    spec = SourceSpec.model_validate(
        {
            "name": "bench_events",
            "description": "bench",
            "owner": "team:bench",
            "max_concurrent_requests": int(workers),
            "rest_api": {
                "client": {
                    "base_url": base_url,
                    "paginator": {
                        "type": "page_number",
                        "base_page": 1,
                        "total_path": "total_pages",
                    },
                },
                "resources": [
                    {"name": "events", "endpoint": {"path": "v1/events", "data_selector": "data"}}
                ],
            },
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp) / "marketing.duckdb")
        source, pipeline = build_source(spec, warehouse, salt=b"b"), build_pipeline(spec, warehouse)
        start = time.perf_counter()
        pipeline.run(source)
        seconds = time.perf_counter() - start
        rows = pipeline.last_trace.last_normalize_info.row_counts.get("events", 0)
        _report(seconds, rows=rows)


CHECK_SQL = """
select count(*) filter (where order_id is null),
       count(*) - count(distinct order_id),
       count(*) filter (where not regexp_matches(country, '^[A-Z]{2}$')),
       count(*) filter (where amount < 0 or amount > 1000),
       count(*) filter (where status not in ('paid', 'shipped', 'refunded', 'cancelled')),
       count(*)
from shop.orders
"""


def _checks_db(rows: int) -> Path:
    import duckdb

    path = DATA / f"checks_{rows}.duckdb"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute("create schema shop")
            con.execute(
                "create table shop.orders as select i as order_id, "
                "['DE','FR','NL','ES'][1 + i % 4] as country, "
                "['paid','shipped','refunded'][1 + i % 3] as status, (i % 1000) / 3.0 as amount "
                f"from range({rows}) t(i)"
            )
    return path


def checks_hand(rows: str) -> None:
    """One hand-written DuckDB query computing the same six facts."""
    import duckdb

    path = _checks_db(int(rows))
    start = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(CHECK_SQL).fetchone()
    _report(time.perf_counter() - start)


def checks_gx(rows: str) -> None:
    """The six-check suite through sourcegate's GX runner (GX imported before the clock)."""
    import great_expectations  # noqa: F401  (the import is not what is measured)

    from pipelines.spec.checks import (
        BetweenCheck,
        InSetCheck,
        MatchRegexCheck,
        NotNullCheck,
        RowCountBetweenCheck,
        UniqueCheck,
    )
    from quality.runner import WarehouseChecker

    path = _checks_db(int(rows))
    checks = [
        NotNullCheck(expect="not_null", column="order_id"),
        UniqueCheck(expect="unique", column="order_id"),
        MatchRegexCheck(expect="match_regex", column="country", regex="^[A-Z]{2}$"),
        BetweenCheck(expect="between", column="amount", min=0, max=1000),
        InSetCheck(
            expect="in_set", column="status", values=["paid", "shipped", "refunded", "cancelled"]
        ),
        RowCountBetweenCheck(expect="row_count_between", min=1),
    ]
    start = time.perf_counter()
    checker = WarehouseChecker(f"duckdb:///{path}")
    outcomes = checker.run("shop", "orders", checks)
    checker.close()
    _report(time.perf_counter() - start, passed=sum(o.passed for o in outcomes))


def own_loads(folder: str) -> None:
    """The sources' own load times, for the `many sources` bench: each source of ``folder``
    loaded alone by its dlt ``pipeline.run`` (extract, normalize, load), one after another
    into one fresh DuckDB file. Imports, building the source and pipeline, and checks are
    excluded; one unmeasured load of each kind (files, REST) into another file comes first.
    Prints the mean over the sources (and the mean per kind)."""
    from pipelines.runtime.build import build_pipeline, build_source
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    registry = load_registry(Path(folder))
    if registry.errors:
        raise SystemExit(f"broken source files: {registry.errors}")
    specs = [loaded.spec for loaded in registry.sources]
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm = Warehouse(Path(tmp) / "warmup.duckdb")
        for spec in {spec.kind: spec for spec in reversed(specs)}.values():
            build_pipeline(spec, warm).run(build_source(spec, warm, salt=b"b"))
        warehouse = Warehouse(Path(tmp) / "marketing.duckdb")
        for spec in specs:
            source = build_source(spec, warehouse, salt=b"b")
            pipeline = build_pipeline(spec, warehouse)
            start = time.perf_counter()
            pipeline.run(source)
            times.setdefault(spec.kind, []).append(time.perf_counter() - start)
    every = [seconds for kind in times.values() for seconds in kind]
    means = {kind: round(statistics.mean(values), 3) for kind, values in times.items()}
    _report(statistics.mean(every), sources=len(every), **means)


def validate_inprocess(folder: str) -> None:
    """`load_registry` over a folder, imports excluded (for profiling; no row uses it)."""
    from dlt.sources import rest_api  # noqa: F401

    import pipelines.kinds.rest_api.config  # noqa: F401
    from pipelines.spec.registry import load_registry

    start = time.perf_counter()
    registry = load_registry(Path(folder))
    _report(time.perf_counter() - start, sources=len(registry.sources), errors=len(registry.errors))


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
