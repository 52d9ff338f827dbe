"""`make bench`: side-by-side benchmarks, each a ratio against a baseline measured in this run.

    python -m bench.run [--scale full|quick] [--repeat 3] [--only files checks ...]

Every measurement is its own process. Candidate and baseline alternate, the median of the
repeats is reported with absolute times and peak RSS, and the table goes to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import PYTHON, ApiServer, Sample, case, side_by_side, whole

BENCH = Path(__file__).resolve().parent
SCALES = {
    "full": {
        "rows": 5_000_000,
        "api_records": 500_000,
        "latency_pages": 500,
        "check_rows": 10_000_000,
    },
    "quick": {"rows": 500_000, "api_records": 50_000, "latency_pages": 60, "check_rows": 1_000_000},
}
SOURCES_FOR_STARTUP = 500
# The bench's drops live in bench/data and temporary folders; sources may read only data roots.
# Set here, so the cases' child processes inherit it.
os.environ["SOURCEGATE_DATA_ROOT"] = os.pathsep.join(
    ["data", str(BENCH / "data"), tempfile.gettempdir()]
)


@dataclass
class Row:
    """One line of RESULTS.md."""

    bench: str
    candidate: str
    baseline: str
    cand: list[Sample]
    base: list[Sample]
    target: float
    better_when: str = (
        "lower"  # lower: ratio = cand / base must be <= target; higher: base / cand >= target
    )

    @property
    def ratio(self) -> float:
        c = statistics.median(s.seconds for s in self.cand)
        b = statistics.median(s.seconds for s in self.base)
        return c / b if self.better_when == "lower" else b / c

    @property
    def met(self) -> bool:
        return (
            self.ratio <= self.target if self.better_when == "lower" else self.ratio >= self.target
        )


def bench_files(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    rows = []
    for fmt in ("csv", "jsonl", "parquet"):
        log(f"files {fmt}: {scale['rows']:,} rows")
        cand, base = side_by_side(
            repeat,
            lambda f=fmt: case("files_sourcegate", scale["rows"], f),
            lambda f=fmt: case("files_duckdb", scale["rows"], f),
        )
        rows.append(
            Row(
                f"files ({fmt})",
                "dlt pipeline run of the files source",
                "DuckDB CREATE TABLE AS read_*",
                cand,
                base,
                1.5,
            )
        )
    return rows


def bench_overhead(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    from bench.datasets import export

    tmp = Path(tempfile.mkdtemp(prefix="sourcegate-bench-"))
    sources, drop, big = tmp / "sources", tmp / "drop", tmp / "big"
    for folder in (sources, drop, big):
        folder.mkdir()
    (drop / "rows.csv").write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(10)))
    (big / export(scale["rows"], "csv", BENCH / "data").name).symlink_to(
        export(scale["rows"], "csv", BENCH / "data")
    )
    for name, folder in (("tiny_source", drop), ("big_source", big)):
        (sources / f"{name}.yaml").write_text(
            f"name: {name}\ndescription: bench\nowner: team:bench\nfiles:\n"
            f"  bucket_url: {folder}\n  file_glob: '*.csv'\n  format: csv\n  table: rows\n"
            f"checks:\n  rows:\n    - {{expect: row_count_between, min: 1}}\n"
        )
    env = {
        "SOURCEGATE_WAREHOUSE": str(tmp / "wh" / "marketing.duckdb"),
        "DAGSTER_HOME": str(tmp / "dagster"),
        "SOURCEGATE_PII_SALT": "bench",
    }
    sourcegate = str(Path(PYTHON).parent / "sourcegate")

    def run(name: str) -> Sample:
        return whole([sourcegate, "run", name, "--sources", str(sources)], env)

    log("overhead: sourcegate run of a 10-row source")
    cand, base = side_by_side(
        repeat,
        lambda: run("tiny_source"),
        lambda: whole([PYTHON, "-c", "import dagster, dlt, duckdb"]),
    )
    rows = [
        Row(
            "overhead",
            "`sourcegate run` of a 10-row source (whole process)",
            "`python -c 'import dagster, dlt, duckdb'`",
            cand,
            base,
            2.0,
        )
    ]
    log(f"files through the CLI: {scale['rows']:,}-row CSV")
    big_runs, tiny_runs, duck = [], [], []
    for _ in range(repeat):
        duck.append(case("files_duckdb", scale["rows"], "csv"))
        big_runs.append(run("big_source"))
        tiny_runs.append(run("tiny_source"))
    marginal = [
        Sample(b.seconds - t.seconds, b.rss_mb) for b, t in zip(big_runs, tiny_runs, strict=True)
    ]
    rows.append(
        Row(
            "files via CLI (marginal)",
            "`sourcegate run` 5M rows minus 10 rows",
            "DuckDB CREATE TABLE AS read_csv",
            marginal,
            duck,
            1.5,
        )
    )
    return rows


def bench_api(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    log(f"api: {scale['api_records']:,} records, 1,000 per page")
    with ApiServer(scale["api_records"]) as server:
        cand, base = side_by_side(
            repeat,
            lambda: case("api_sourcegate", server.base_url, 8),
            lambda: case("api_baseline", server.base_url),
        )
    rows = [
        Row(
            "api",
            "dlt rest_api run (dlt row normalizer, 8 concurrent)",
            "requests loop + Arrow + DuckDB insert",
            cand,
            base,
            1.5,
        )
    ]
    pages = scale["latency_pages"]
    log(f"api-latency: {pages} pages with 20 ms added per page")
    with ApiServer(pages * 1000, delay_ms=20) as server:
        cand, base = side_by_side(
            repeat,
            lambda: case("api_sourcegate", server.base_url, 8),
            lambda: case("api_sourcegate", server.base_url, 1),
        )
    rows.append(
        Row(
            "api-latency",
            "concurrent pages (8)",
            "sequential pages",
            cand,
            base,
            4.0,
            better_when="higher",
        )
    )
    return rows


def bench_checks(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    log(f"checks: 6 checks on {scale['check_rows']:,} rows")
    cand, base = side_by_side(
        repeat,
        lambda: case("checks_gx", scale["check_rows"]),
        lambda: case("checks_hand", scale["check_rows"]),
    )
    return [
        Row(
            "checks",
            "GX suite with SQL pushdown (6 checks)",
            "one hand-written DuckDB query",
            cand,
            base,
            1.5,
        )
    ]


def bench_startup(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    from bench.many_sources import write_sources

    folder = write_sources(SOURCES_FOR_STARTUP, Path(tempfile.mkdtemp(prefix="sourcegate-many-")))
    env = {"SOURCEGATE_SOURCES": str(folder)}
    log(f"startup: definitions and validate with {SOURCES_FOR_STARTUP} sources")
    load = "import assets.definitions as d; d.defs.resolve_asset_graph()"
    cand, base = side_by_side(
        repeat,
        lambda: whole([PYTHON, "-c", load], env),
        lambda: whole([PYTHON, "-c", "import dagster"]),
    )
    defs = Row(
        "startup (definitions)",
        f"load definitions, {SOURCES_FOR_STARTUP} sources",
        "`python -c 'import dagster'`",
        cand,
        base,
        0.0,
    )
    sourcegate = str(Path(PYTHON).parent / "sourcegate")
    validate = [whole([sourcegate, "validate", str(folder)]) for _ in range(repeat)]
    inproc = [case("validate_inprocess", folder) for _ in range(repeat)]
    return [
        defs,
        Row(
            "startup (validate)",
            "`sourcegate validate`, whole process",
            "-",
            validate,
            validate,
            0.0,
        ),
        Row(
            "startup (validate, in-process)",
            "load_registry, imports excluded",
            "-",
            inproc,
            inproc,
            0.0,
        ),
    ]


def bench_preview(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    """`sourcegate preview --limit 20`, whole process, on a bundled file source and on a
    loopback REST source with 3 tables (1,000 records per page, 50 pages each)."""
    tmp = Path(tempfile.mkdtemp(prefix="sourcegate-bench-preview-"))
    env = {
        "SOURCEGATE_WAREHOUSE": str(tmp / "wh" / "marketing.duckdb"),
        "SOURCEGATE_PII_SALT": "bench",
    }
    sourcegate = str(Path(PYTHON).parent / "sourcegate")
    baseline = [PYTHON, "-c", "import dlt, duckdb, pyarrow"]
    log("preview: bundled file source ad_spend, --limit 20")
    cand, base = side_by_side(
        repeat,
        lambda: whole([sourcegate, "preview", "ad_spend", "--limit", "20"], env),
        lambda: whole(baseline),
    )
    rows = [
        Row(
            "preview (files)",
            "`sourcegate preview ad_spend --limit 20` (whole process)",
            "`python -c 'import dlt, duckdb, pyarrow'`",
            cand,
            base,
            2.0,
        )
    ]
    log("preview: loopback REST source with 3 tables, --limit 20")
    with ApiServer(50_000) as server:
        sources = tmp / "sources"
        sources.mkdir()
        resources = "".join(
            f"    - name: {table}\n      endpoint:\n        path: v1/{table}\n"
            for table in ("events", "opens", "clicks")
        )
        (sources / "bench_api.yaml").write_text(
            "name: bench_api\ndescription: bench\nowner: team:bench\nrest_api:\n"
            f"  client:\n    base_url: {server.base_url}\n"
            "    paginator: {type: page_number, base_page: 1, total_path: total_pages}\n"
            "  resource_defaults:\n    endpoint: {data_selector: data}\n"
            f"  resources:\n{resources}"
            "pii:\n  hash: [events.email, opens.email, clicks.email]\n"
        )
        command = [sourcegate, "preview", "bench_api", "--limit", "20", "--sources", str(sources)]
        cand, base = side_by_side(repeat, lambda: whole(command, env), lambda: whole(baseline))
    rows.append(
        Row(
            "preview (REST, 3 tables)",
            "`sourcegate preview --limit 20` of 3 paginated endpoints (whole process)",
            "`python -c 'import dlt, duckdb, pyarrow'`",
            cand,
            base,
            2.0,
        )
    )
    return rows


BENCHES = {
    "files": bench_files,
    "overhead": bench_overhead,
    "api": bench_api,
    "checks": bench_checks,
    "startup": bench_startup,
    "preview": bench_preview,
}


def render(rows: list[Row], scale_name: str, repeat: int, started: str) -> str:
    """The Markdown table."""
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {started} UTC, scale `{scale_name}`, median of {repeat} runs per side, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        "Ratios are candidate / baseline (for api-latency: sequential / concurrent, a speed-up).",
        "",
        "| bench | candidate | baseline | candidate s | baseline s | ratio | target | met "
        "| peak RSS MB (cand / base) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cand = statistics.median(s.seconds for s in row.cand)
        base = statistics.median(s.seconds for s in row.base)
        rss = f"{max(s.rss_mb for s in row.cand):.0f} / {max(s.rss_mb for s in row.base):.0f}"
        if row.baseline == "-":
            lines.append(
                f"| {row.bench} | {row.candidate} | - | {cand:.2f} | - | - | "
                f"see below | - | {rss.split(' / ')[0]} |"
            )
            continue
        if row.target == 0.0:
            extra = cand - base
            met = "yes" if extra <= 2.0 else "no"
            lines.append(
                f"| {row.bench} | {row.candidate} | {row.baseline} | {cand:.2f} | "
                f"{base:.2f} | +{extra:.2f} s | +2.0 s | {met} | {rss} |"
            )
            continue
        sign = "≥" if row.better_when == "higher" else "≤"
        lines.append(
            f"| {row.bench} | {row.candidate} | {row.baseline} | {cand:.2f} | {base:.2f} | "
            f"{row.ratio:.2f}x | {sign} {row.target}x | {'yes' if row.met else 'no'} | {rss} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the selected benches and write bench/RESULTS.md (plus a copy of the notes below it)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHES), default=None)
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    scale = SCALES[args.scale]

    def log(message: str) -> None:
        print(f"[bench] {message}", flush=True)

    rows: list[Row] = []
    for name in args.only or list(BENCHES):
        rows += BENCHES[name](scale, args.repeat, log)
    table = render(rows, args.scale, args.repeat, started)
    notes = (BENCH / "NOTES.md").read_text() if (BENCH / "NOTES.md").exists() else ""
    args.output.write_text(table + ("\n" + notes if notes else ""))
    print(table)


if __name__ == "__main__":
    main()
