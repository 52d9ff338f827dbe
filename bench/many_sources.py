"""Folders of many source files: copies of the bundled ones for the validate bench, and small
file drops plus loopback REST sources for the `many sources` run bench."""

from __future__ import annotations

from pathlib import Path

from pipelines.settings import PROJECT_ROOT

TEMPLATES = ["crm_contacts", "webshop_orders", "ad_spend", "hubspot_contacts", "stripe_customers"]
ROWS_PER_DROP = 40


def write_sources(count: int, folder: Path) -> Path:
    """Fill ``folder`` with ``count`` valid source files of every kind; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    bodies = {name: (PROJECT_ROOT / "sources" / f"{name}.yaml").read_text() for name in TEMPLATES}
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        name = f"{template[:30]}_{index:04d}"
        text = bodies[template].replace(f"name: {template}", f"name: {name}")
        text = text.replace("bucket_url: data/", f"bucket_url: {PROJECT_ROOT}/data/")
        (folder / f"{name}.yaml").write_text(text)
    return folder


def file_source(name: str, drop: Path, checks: bool = True) -> str:
    """A files source over the CSV drop ``drop``, with one check (or none)."""
    check = "checks:\n  rows:\n    - {expect: row_count_between, min: 1}\n" if checks else ""
    return (
        f"name: {name}\ndescription: bench\nowner: team:bench\nfiles:\n"
        f"  bucket_url: {drop}\n  file_glob: '*.csv'\n  format: csv\n  table: rows\n" + check
    )


def rest_source(name: str, base_url: str) -> str:
    """A REST source without auth over the loopback `bench.api_server` at ``base_url``."""
    return (
        f"name: {name}\ndescription: bench\nowner: team:bench\nrest_api:\n"
        f"  client:\n    base_url: {base_url}\n"
        "    paginator: {type: page_number, base_page: 1, total_path: total_pages}\n"
        "  resources:\n"
        "    - name: events\n      endpoint: {path: v1/events, data_selector: data}\n"
        "pii:\n  hash: [events.email]\n"
        "checks:\n  events:\n    - {expect: not_null, column: id}\n"
    )


def write_run_sources(files: int, rest: int, folder: Path, base_url: str) -> Path:
    """``files`` file sources (each its own drop of one CSV of ``ROWS_PER_DROP`` rows) and
    ``rest`` REST sources, in ``folder / "sources"``; return that folder. File sources come
    first in name order (`files_0000`, ..., `rest_0000`, ...)."""
    sources = folder / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        name = f"files_{index:04d}"
        drop = folder / "drops" / name
        drop.mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{i},{name}_{i},{(i * 37) % 1000 / 10}\n" for i in range(ROWS_PER_DROP))
        (drop / "rows.csv").write_text("id,label,amount\n" + rows)
        (sources / f"{name}.yaml").write_text(file_source(name, drop))
    for index in range(rest):
        name = f"rest_{index:04d}"
        (sources / f"{name}.yaml").write_text(rest_source(name, base_url))
    return sources
