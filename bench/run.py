"""`make bench`: side-by-side benchmarks, each a ratio against a baseline measured in this run.

    python -m bench.run [--scale full|quick] [--repeat 3] [--only files checks ...]

Every measurement is its own process. Candidate and baseline alternate, the median of the
repeats is reported with absolute times and peak RSS, and the table goes to bench/RESULTS.md.
At `--scale quick` every bench runs once per side (`REPEAT_CAPS`), to stay near 3 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import PYTHON, ApiServer, Sample, case, side_by_side, whole

BENCH = Path(__file__).resolve().parent
SCALES = {
    "full": {
        "rows": 5_000_000,
        "big_rows": 20_000_000,
        "api_records": 500_000,
        "latency_pages": 500,
        "check_rows": 10_000_000,
        "many_files": 100,
        "many_rest": 20,
    },
    "quick": {
        "rows": 500_000,
        "big_rows": 1_000_000,
        "api_records": 20_000,
        "latency_pages": 20,
        "check_rows": 1_000_000,
        "many_files": 5,
        "many_rest": 2,
    },
}
SOURCES_FOR_STARTUP = 500
PARALLEL = 4
# The REST sources of `many sources`: 3 pages of 300 records each, 20 ms added per page.
MANY_REST_RECORDS, MANY_REST_PER_PAGE, MANY_REST_DELAY_MS = 900, 300, 20
RSS_LIMIT_MB = 1500
SOURCEGATE = str(Path(PYTHON).parent / "sourcegate")
# The bench's drops live in bench/data and temporary folders; sources may read only data roots.
# Set here, so the cases' child processes inherit it.
os.environ["SOURCEGATE_DATA_ROOT"] = os.pathsep.join(
    ["data", str(BENCH / "data"), tempfile.gettempdir()]
)


@dataclass
class Row:
    """One line of RESULTS.md.

    ``unit`` says what the result column holds and ``target`` bounds:
    ``x``: a ratio, candidate / baseline (baseline / candidate when ``better_when`` is
    "higher", a speed-up); ``+s``: candidate minus baseline, in seconds; ``s``: seconds,
    ``value`` given by the bench; ``MB``: the candidate's peak RSS. ``value`` overrides the
    computed result (for results derived from more than the two sides). A ``report_only`` row
    prints its target but is never met or missed.
    """

    bench: str
    candidate: str
    baseline: str
    cand: list[Sample]
    base: list[Sample]
    target: float
    better_when: str = "lower"  # lower: result <= target; higher: result >= target
    unit: str = "x"
    value: float | None = None
    report_only: bool = False
    strict: bool = False  # "<" instead of "<="

    @property
    def result(self) -> float:
        if self.value is not None:
            return self.value
        if self.unit == "MB":
            return max(s.rss_mb for s in self.cand)
        c = statistics.median(s.seconds for s in self.cand)
        b = statistics.median(s.seconds for s in self.base)
        if self.unit == "+s":
            return c - b
        return c / b if self.better_when == "lower" else b / c

    @property
    def ratio(self) -> float:
        """The result (kept under its old name: a ratio for ``x`` rows)."""
        return self.result

    @property
    def met(self) -> bool | None:
        if self.report_only:
            return None
        if self.better_when == "higher":
            return self.result >= self.target
        return self.result < self.target if self.strict else self.result <= self.target

    def target_text(self) -> str:
        """For example `≤ 1.5x`, `≥ 1.0x (report)`, `≤ 0.5 s`, `≤ +2.0 s`, `< 1500 MB`."""
        sign = "≥" if self.better_when == "higher" else "<" if self.strict else "≤"
        number = f"{self.target:.2f}".rstrip("0").rstrip(".")
        number += "" if "." in number else ".0"  # 1.5, 1.1, 2.0
        amount = {
            "x": f"{number}x",
            "s": f"{number} s",
            "+s": f"+{number} s",
            "MB": f"{self.target:.0f} MB",
        }[self.unit]
        return f"{sign} {amount}" + (" (report)" if self.report_only else "")

    def result_text(self) -> str:
        value = self.result
        return {
            "x": f"{value:.2f}x",
            "s": f"{value:.2f} s",
            "+s": f"{value:+.2f} s",
            "MB": f"{value:.0f} MB",
        }[self.unit]


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
    from bench.many_sources import file_source

    tmp = Path(tempfile.mkdtemp(prefix="sourcegate-bench-"))
    sources, drop, big = tmp / "sources", tmp / "drop", tmp / "big"
    for folder in (sources, drop, big):
        folder.mkdir()
    (drop / "rows.csv").write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(10)))
    (big / export(scale["rows"], "csv", BENCH / "data").name).symlink_to(
        export(scale["rows"], "csv", BENCH / "data")
    )
    for name, folder in (("tiny_source", drop), ("big_source", big)):
        (sources / f"{name}.yaml").write_text(file_source(name, folder))
    # the same 10 rows without a check: a run that never imports Great Expectations
    (sources / "tiny_unchecked.yaml").write_text(file_source("tiny_unchecked", drop, checks=False))
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
    log("overhead: the same source without a check (GX never imported)")
    if repeat > 1:
        run("tiny_unchecked")  # warm-up, as side_by_side does
    unchecked = [run("tiny_unchecked") for _ in range(repeat)]  # same baseline as above
    rows = [
        Row(
            "overhead",
            "`sourcegate run` of a 10-row source with one check (whole process)",
            "`python -c 'import dagster, dlt, duckdb'`",
            cand,
            base,
            2.0,
        ),
        Row(
            "overhead (no check)",
            "the same run of the same source without a check: GX is not imported",
            "`python -c 'import dagster, dlt, duckdb'`",
            unchecked,
            base,
            2.0,
        ),
    ]
    log(f"files through the CLI: {scale['rows']:,}-row CSV")
    big_runs, duck = [], []
    for _ in range(repeat):
        duck.append(case("files_duckdb", scale["rows"], "csv"))
        big_runs.append(run("big_source"))
    # minus the 10-row runs of the `overhead` row: same command, same instance and warehouse
    marginal = [
        Sample(b.seconds - t.seconds, b.rss_mb) for b, t in zip(big_runs, cand, strict=True)
    ]
    rows.append(
        Row(
            "files via CLI (marginal)",
            f"`sourcegate run` {scale['rows']:,} rows minus 10 rows",
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
    log(f"startup: definitions with {SOURCES_FOR_STARTUP} sources")
    load = "import assets.definitions as d; d.defs.resolve_asset_graph()"
    cand, base = side_by_side(
        repeat,
        lambda: whole([PYTHON, "-c", load], env),
        lambda: whole([PYTHON, "-c", "import dagster"]),
    )
    return [
        Row(
            "startup (definitions)",
            f"load definitions, {SOURCES_FOR_STARTUP} sources",
            "`python -c 'import dagster'`",
            cand,
            base,
            2.0,
            unit="+s",
        )
    ]


def bench_validate(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    """`sourcegate validate` of 500 files as a user runs it twice in a row: cold (a fresh
    warehouse state folder, so no validation cache) and warm (the same folder again)."""
    from bench.many_sources import write_sources

    tmp = Path(tempfile.mkdtemp(prefix="sourcegate-bench-validate-"))
    folder = write_sources(SOURCES_FOR_STARTUP, tmp / "sources")
    command = [SOURCEGATE, "validate", str(folder)]
    baseline = [PYTHON, "-c", "import dlt"]

    def state_env(state: Path) -> dict[str, str]:
        # The validation cache lives in the warehouse's state folder: beside a DuckDB file
        # (`.marketing_dlt/`), or under $SOURCEGATE_STATE_DIR for other warehouses.
        return {
            "SOURCEGATE_SOURCES": str(folder),
            "SOURCEGATE_WAREHOUSE": str(state / "wh" / "marketing.duckdb"),
            "SOURCEGATE_STATE_DIR": str(state / "state"),
        }

    def cold() -> Sample:
        state = tmp / "cold"
        shutil.rmtree(state, ignore_errors=True)  # no cache: the state folder starts empty
        return whole(command, state_env(state))

    log(f"validate: {SOURCES_FOR_STARTUP} files, cold (state folder removed before each run)")
    cold_cand, cold_base = side_by_side(repeat, cold, lambda: whole(baseline))
    log(f"validate: {SOURCES_FOR_STARTUP} files, warm (state folder kept)")
    warm_env = state_env(tmp / "warm")
    whole(command, warm_env)  # the user's first run, unmeasured: it fills the cache
    warm_cand, warm_base = side_by_side(
        repeat, lambda: whole(command, warm_env), lambda: whole(baseline)
    )
    shutil.rmtree(tmp, ignore_errors=True)
    name = f"validate ({SOURCES_FOR_STARTUP} files"
    return [
        Row(
            f"{name}, cold)",
            "`sourcegate validate` (whole process), fresh warehouse state folder each run",
            "`python -c 'import dlt'`",
            cold_cand,
            cold_base,
            1.5,
        ),
        Row(
            f"{name}, warm)",
            "`sourcegate validate` (whole process), run again with the state folder kept",
            "`python -c 'import dlt'`",
            warm_cand,
            warm_base,
            1.5,
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


def bench_many_sources(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    """`sourcegate run` (whole process) of N small file sources plus M loopback REST sources:
    `--parallel 4` against `--parallel 1`, and the per-source overhead of the parallel run."""
    from bench.many_sources import ROWS_PER_DROP, write_run_sources

    files, rest = scale["many_files"], scale["many_rest"]
    count = files + rest
    tmp = Path(tempfile.mkdtemp(prefix="sourcegate-bench-many-"))
    runs = iter(range(1_000_000))

    def run(sources: Path, parallel: int) -> Sample:
        # every run its own warehouse and Dagster instance, so runs are comparable
        home = tmp / "runs" / str(next(runs))
        env = {
            "SOURCEGATE_WAREHOUSE": str(home / "wh" / "marketing.duckdb"),
            "DAGSTER_HOME": str(home / "dagster"),
            "SOURCEGATE_PII_SALT": "bench",
        }
        command = [SOURCEGATE, "run", "--sources", str(sources), "--parallel", str(parallel)]
        sample = whole(command, env)
        shutil.rmtree(home, ignore_errors=True)
        return sample

    records = f"{MANY_REST_RECORDS // MANY_REST_PER_PAGE} pages of {MANY_REST_PER_PAGE} records"
    with ApiServer(MANY_REST_RECORDS, MANY_REST_PER_PAGE, MANY_REST_DELAY_MS) as server:
        sources = write_run_sources(files, rest, tmp, server.base_url)
        tiny = tmp / "tiny"
        tiny.mkdir()
        shutil.copy(sources / "files_0000.yaml", tiny)
        log(f"many sources: own load times of {files} file + {rest} REST sources")
        own = statistics.mean(case("own_loads", sources).seconds for _ in range(repeat))
        if repeat > 1:
            log("many sources: `sourcegate run` of one tiny source (warm-up, unmeasured)")
            run(tiny, PARALLEL)
        cand, base, one = [], [], []
        for index in range(repeat):
            log(f"many sources [{index + 1}/{repeat}]: one tiny source")
            one.append(run(tiny, PARALLEL))
            log(f"many sources [{index + 1}/{repeat}]: {count} sources, --parallel 1")
            base.append(run(sources, 1))
            log(f"many sources [{index + 1}/{repeat}]: {count} sources, --parallel {PARALLEL}")
            cand.append(run(sources, PARALLEL))
    shutil.rmtree(tmp, ignore_errors=True)
    what = f"{files} file + {rest} REST sources"
    speed_up = Row(
        "many sources",
        f"`sourcegate run --parallel {PARALLEL}` of {what} (whole process)",
        "`sourcegate run --parallel 1`, one source at a time",
        cand,
        base,
        1.0,
        better_when="higher",
        report_only=True,
    )
    whole_cand = statistics.median(s.seconds for s in cand)
    whole_one = statistics.median(s.seconds for s in one)
    overhead = (whole_cand - whole_one) / (count - 1) - own
    per_source = Row(
        "per-source overhead",
        f"(`sourcegate run --parallel {PARALLEL}` of {what} minus the run of one of them "
        f"alone) / {count - 1}, minus the mean own load time ({own:.2f} s). Own load time: the "
        "source's dlt `pipeline.run` alone (extract, normalize, load into a fresh DuckDB file; "
        "imports, building and checks excluded). Files: one "
        f"{ROWS_PER_DROP}-row CSV and one check each; REST: {records}, "
        f"{MANY_REST_DELAY_MS} ms per page, one check",
        "`sourcegate run` of one file source alone (whole process)",
        cand,
        one,
        0.5,
        unit="s",
        value=overhead,
    )
    return [speed_up, per_source]


def bench_beyond_memory(scale: dict, repeat: int, log: Callable[[str], None]) -> list[Row]:
    """The `files (csv)` case at 4x its rows (20M at full scale): ratio against DuckDB, peak
    RSS, and how the ratio grows from the `files (csv)` row's rows to 4x."""
    from bench.datasets import export

    small, big = scale["rows"], scale["big_rows"]
    log(f"beyond memory: exporting a {big:,}-row CSV once (bench/data, reused later)")
    export(big, "csv", BENCH / "data")
    log(f"beyond memory: {big:,}-row CSV")
    cand, base = side_by_side(
        repeat,
        lambda: case("files_sourcegate", big, "csv"),
        lambda: case("files_duckdb", big, "csv"),
    )
    label = f"{big / 1e6:g}M"
    rows = [
        Row(
            f"beyond memory ({label} CSV)",
            f"dlt pipeline run of the files source, {big:,}-row CSV "
            f"({big // small}x the rows of `files (csv)`)",
            "DuckDB CREATE TABLE AS read_csv",
            cand,
            base,
            1.5,
        ),
        Row(
            f"beyond memory ({label} CSV) RSS",
            f"peak RSS of the same runs, {big:,} rows",
            "DuckDB CREATE TABLE AS read_csv",
            cand,
            base,
            RSS_LIMIT_MB,
            unit="MB",
            strict=True,
        ),
    ]
    earlier = MEASURED.get("files (csv)")
    source = "the `files (csv)` row"
    if earlier is None:
        source = "measured here, as `files (csv)` does"
        log(f"beyond memory: {small:,}-row CSV (no `files (csv)` row in this run)")
        small_cand, small_base = side_by_side(
            repeat,
            lambda: case("files_sourcegate", small, "csv"),
            lambda: case("files_duckdb", small, "csv"),
        )
        earlier = Row("files (csv)", "", "", small_cand, small_base, 1.5)
    rows.append(
        Row(
            "linear cost",
            f"ratio at {big:,} rows ({rows[0].ratio:.2f}x; the row above)",
            f"ratio at {small:,} rows ({earlier.ratio:.2f}x; {source}), {big // small}x "
            "fewer rows; seconds and RSS are the pipeline's at each size",
            cand,
            earlier.cand,
            1.10,
            value=rows[0].ratio / earlier.ratio,
        )
    )
    return rows


BENCHES = {
    "files": bench_files,
    "beyond_memory": bench_beyond_memory,
    "overhead": bench_overhead,
    "many_sources": bench_many_sources,
    "api": bench_api,
    "checks": bench_checks,
    "startup": bench_startup,
    "validate": bench_validate,
    "preview": bench_preview,
}
# Runs per side at most, per scale and bench: `--scale quick` stays under 3 minutes.
REPEAT_CAPS = {"quick": dict.fromkeys(BENCHES, 1)}
# Rows measured so far in this run, by bench name (`linear cost` reuses `files (csv)`).
MEASURED: dict[str, Row] = {}


def render(
    rows: list[Row],
    scale_name: str,
    repeat: int,
    started: str,
    runs: dict[str, int] | None = None,
) -> str:
    """The Markdown table; ``runs`` holds the runs per side of each bench that ran (when a
    scale capped some below ``repeat``)."""
    runs = runs or {}
    counts = sorted(set(runs.values()) or {repeat})

    def per_side(count: int) -> str:
        return f"median of {count} runs per side" if count > 1 else "one run per side"

    cut = " at this scale, to keep it under 3 minutes"
    if len(counts) > 1:
        fewer = ", ".join(f"`{name}` {count}" for name, count in runs.items() if count < repeat)
        repeats = f"{per_side(repeat)} ({fewer}{cut})"
    elif counts[0] < repeat:
        repeats = f"{per_side(counts[0])} (`--repeat {repeat}` cut to {counts[0]}{cut})"
    else:
        repeats = per_side(counts[0])
    repeats += "; a side measured more than once gets one unmeasured warm-up run first"
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {started} UTC, scale `{scale_name}`, {repeats}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        "Results are candidate / baseline; a ≥ target is a speed-up, baseline / candidate; "
        "rows in seconds or MB say how they are computed.",
        "",
        "| bench | candidate | baseline | candidate s | baseline s | result | target | met "
        "| peak RSS MB (cand / base) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cand = _median_text(row.cand)
        base = _median_text(row.base)
        met = "report" if row.met is None else "yes" if row.met else "no"
        lines.append(
            f"| {row.bench} | {row.candidate} | {row.baseline} | {cand} | {base} | "
            f"{row.result_text()} | {row.target_text()} | {met} | "
            f"{_rss_text(row.cand)} / {_rss_text(row.base)} |"
        )
    return "\n".join(lines) + "\n"


def _median_text(samples: list[Sample]) -> str:
    return f"{statistics.median(s.seconds for s in samples):.2f}" if samples else "-"


def _rss_text(samples: list[Sample]) -> str:
    return f"{max(s.rss_mb for s in samples):.0f}" if samples else "-"


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

    clock = time.perf_counter()

    def log(message: str) -> None:
        elapsed = int(time.perf_counter() - clock)
        print(f"[bench {elapsed // 60}:{elapsed % 60:02d}] {message}", flush=True)

    caps = REPEAT_CAPS.get(args.scale, {})
    chosen = args.only or list(BENCHES)
    runs = {name: min(args.repeat, caps.get(name, args.repeat)) for name in chosen}
    rows: list[Row] = []
    for name in chosen:
        for row in BENCHES[name](scale, runs[name], log):
            MEASURED[row.bench] = row
            rows.append(row)
    log(f"done in {time.perf_counter() - clock:.0f} s")
    table = render(rows, args.scale, args.repeat, started, runs)
    notes = (BENCH / "NOTES.md").read_text() if (BENCH / "NOTES.md").exists() else ""
    args.output.write_text(table + ("\n" + notes if notes else ""))
    print(table)


if __name__ == "__main__":
    main()
