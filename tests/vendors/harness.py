"""What every catalog template's end-to-end test shares: write the source from the catalog as
`sourcegate new --from` does, point it at the vendor's loopback fake, run it twice through
Dagster, and fake the vendor's rate limiting."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.cli.new import scaffold_from_catalog
from pipelines.spec.catalog import example_answers, load_catalog
from tests.fake_api import Handler, Request, json_response

_BASE_URL = re.compile(r"^(\s*base_url:\s*)(\S+)\s*$", re.MULTILINE)


@dataclass
class TwoRuns:
    """Both runs of a template's source, and its file."""

    name: str
    path: Path
    first: Any
    second: Any


def write_from_catalog(
    key: str, folder: Path, fake_base: str, answers: dict[str, str] | None = None
) -> Path:
    """The source `<key>_test` as `sourcegate new --from KEY` writes it, with every URL of the
    vendor's host (base_url, token_url, ...) moved to the fake's host, paths kept."""
    folder.mkdir(parents=True, exist_ok=True)
    template = load_catalog()[key]
    given = {**example_answers(template), **(answers or {})}
    path = scaffold_from_catalog(folder, key, {"name": f"{key}_test", "owner": "team:test"}, given)
    text = path.read_text()
    match = _BASE_URL.search(text)
    assert match, f"{key}: the template has no base_url"
    real = urlsplit(match.group(2))
    fake = urlsplit(fake_base)
    text = text.replace(f"{real.scheme}://{real.netloc}", f"{fake.scheme}://{fake.netloc}")
    path.write_text(text)
    return path


def run_twice(
    key: str,
    tmp_path: Path,
    fake_base: str,
    materialize_sources: Callable[..., Any],
    monkeypatch: Any,
    secrets: dict[str, str],
    between: Callable[[], None] | None = None,
    answers: dict[str, str] | None = None,
) -> TwoRuns:
    """Run the template's source, call ``between`` (new data at the fake), run it again.

    ``secrets`` maps the catalog's secret suffixes (`API_KEY`) to values; they are set as
    `<NAME>_<SUFFIX>` the way IT would.
    """
    path = write_from_catalog(key, tmp_path / "sources", fake_base, answers)
    name = path.stem
    for suffix, value in secrets.items():
        monkeypatch.setenv(f"{name.upper()}_{suffix}", value)
    # the vendors' Retry-After answers are waited out, briefly
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "2")
    first = materialize_sources(path.parent)
    assert first.success, first.failure
    if between is not None:
        between()
    second = materialize_sources(path.parent)
    assert second.success, second.failure
    return TwoRuns(name, path, first, second)


def rate_limited(
    handler: Handler,
    times: int = 1,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Handler:
    """``handler`` answering its first ``times`` requests with 429 and `Retry-After: 1` (or
    the vendor's own ``headers``), with the vendor's error ``body``."""
    refused: list[Request] = []

    def answer(request: Request):
        if len(refused) < times:
            refused.append(request)
            return json_response(
                429,
                body if body is not None else {"error": "rate limited"},
                headers if headers is not None else {"Retry-After": "1"},
            )
        return handler(request)

    answer.refused = refused  # type: ignore[attr-defined]  # the tests count what was refused
    return answer


def table_rows(query: Callable[[str], list[tuple]], name: str, table: str) -> int:
    """The row count of ``name.table``."""
    return query(f"select count(*) from {name}.{table}")[0][0]


def columns_of(query: Callable[[str], list[tuple]], name: str, table: str) -> set[str]:
    """The landed columns of ``name.table``."""
    rows = query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{name}' and table_name = '{table}'"
    )
    return {column for (column,) in rows}
