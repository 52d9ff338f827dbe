"""Shared fixtures: a throwaway warehouse, a copy of sources/, and a real Dagster run helper."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.settings import environment

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _state_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Whatever a test forgets to point elsewhere (warehouse, dlt state, Dagster home) lands in
    a temporary folder, never in the checkout; subprocesses inherit it."""
    root = tmp_path_factory.mktemp("session_state")
    defaults = {
        "SOURCEGATE_WAREHOUSE": str(root / "warehouse" / "marketing.duckdb"),
        "SOURCEGATE_STATE_DIR": str(root / "warehouse_state"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        # tests keep their file drops in temporary folders; bundled sources read data/
        "SOURCEGATE_DATA_ROOT": os.pathsep.join(["data", str(tmp_path_factory.getbasetemp())]),
    }
    with environment(defaults):
        yield


@pytest.fixture
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture
def warehouse_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DuckDB warehouse file path; also exported as SOURCEGATE_WAREHOUSE."""
    path = tmp_path / "warehouse" / "marketing.duckdb"
    monkeypatch.setenv("SOURCEGATE_WAREHOUSE", str(path))
    monkeypatch.setenv("SOURCEGATE_PII_SALT", "test-salt")
    return path


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a `sourcegate` subprocess: its own warehouse and Dagster instance,
    and no API tokens from the caller's environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("HUBSPOT_TOKEN", "STRIPE_API_KEY")}
    env.update(
        SOURCEGATE_WAREHOUSE=str(tmp_path / "wh" / "marketing.duckdb"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        **extra,
    )
    return env


@pytest.fixture
def sources_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled sources/ folder."""
    target = tmp_path / "sources"
    shutil.copytree(REPO / "sources", target, ignore=shutil.ignore_patterns("_templates"))
    return target


@dataclass
class RunOutcome:
    """What a real Dagster materialization produced, flattened for assertions."""

    success: bool
    materializations: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    checks: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    failure: str | None = None
    result: Any = None


@pytest.fixture
def materialize_sources(warehouse_path: Path) -> Callable[..., RunOutcome]:
    """Materialize sources from a folder through a real (in-process) Dagster run."""

    def run(sources: Path, names: list[str] | None = None, **kwargs: Any) -> RunOutcome:
        from dagster import materialize

        from assets.factory import definitions_for_sources
        from pipelines.spec.registry import load_registry

        registry = load_registry(sources, reserved_names={warehouse_path.stem})
        chosen = [s for s in registry.sources if names is None or s.name in names]
        defs = definitions_for_sources(chosen, warehouse_path)
        result = materialize(
            list(defs.assets), resources=defs.resources, raise_on_error=False, **kwargs
        )
        outcome = RunOutcome(success=result.success, result=result)
        for event in result.get_asset_materialization_events():
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
            outcome.materializations[tuple(event.asset_key.path)] = metadata
        for evaluation in result.get_asset_check_evaluations():
            key = (*evaluation.asset_key.path, evaluation.check_name)
            outcome.checks[key] = evaluation
        for event in result.get_step_failure_events():
            data = event.step_failure_data
            outcome.failure = (
                data.user_failure_data.description if data.user_failure_data else data.error.message
            )
        return outcome

    return run


@pytest.fixture
def query(warehouse_path: Path) -> Callable[[str], list[tuple]]:
    """Run SQL against the test warehouse (read-only) and return all rows."""

    def run(sql: str) -> list[tuple]:
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            return con.sql(sql).fetchall()

    return run
