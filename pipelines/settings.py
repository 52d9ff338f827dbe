"""Where things are and the environment variables that move them, read in one place."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES_ENV = "SOURCEGATE_SOURCES"
WAREHOUSE_ENV = "SOURCEGATE_WAREHOUSE"
STATE_DIR_ENV = "SOURCEGATE_STATE_DIR"
WAIT_TIMEOUT_ENV = "SOURCEGATE_WAIT_TIMEOUT"
DATA_ROOT_ENV = "SOURCEGATE_DATA_ROOT"
TOKEN_STORE_ENV = "SOURCEGATE_TOKEN_STORE"
REPORTS_ENV = "SOURCEGATE_REPORTS"
PARALLEL_ENV = "SOURCEGATE_PARALLEL"
DEFAULT_WAREHOUSE = Path("warehouse") / "marketing.duckdb"
DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_PARALLEL = 4
DEFAULT_DATA_ROOT = Path("data")
TOKEN_STORE_FOLDER = "oauth2_tokens"


def sources_dir() -> Path:
    """The folder of source files: `$SOURCEGATE_SOURCES` or `sources/` in the repo."""
    return Path(os.environ.get(SOURCES_ENV) or PROJECT_ROOT / "sources")


def repo_relative(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it, else as given."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def reports_dir() -> Path:
    """Where the scheduled scorecard page is written: `$SOURCEGATE_REPORTS` or `reports/`."""
    return Path(os.environ.get(REPORTS_ENV) or PROJECT_ROOT / "reports")


def warehouse_setting() -> str:
    """`$SOURCEGATE_WAREHOUSE`, or the default DuckDB file in the repo."""
    return os.environ.get(WAREHOUSE_ENV) or str(PROJECT_ROOT / DEFAULT_WAREHOUSE)


def state_root() -> Path:
    """State of warehouses that are not files: `$SOURCEGATE_STATE_DIR` or `.warehouse_state/`."""
    return Path(os.environ.get(STATE_DIR_ENV) or PROJECT_ROOT / ".warehouse_state")


def wait_timeout() -> float:
    """Seconds a run waits for a warehouse another run holds: `$SOURCEGATE_WAIT_TIMEOUT` or 1800."""
    return float(os.environ.get(WAIT_TIMEOUT_ENV) or DEFAULT_WAIT_TIMEOUT)


def parallel_extracts() -> int:
    """How many sources `sourcegate run` extracts at once: `$SOURCEGATE_PARALLEL` or 4.

    Raises:
        ValueError: when the variable is not a whole number of 1 or more (the message says so).
    """
    raw = os.environ.get(PARALLEL_ENV) or str(DEFAULT_PARALLEL)
    try:
        return whole_number_from_one(raw)
    except ValueError as exc:
        raise ValueError(f"{PARALLEL_ENV} {exc}") from None


def whole_number_from_one(raw: str) -> int:
    """``raw`` as a whole number of 1 or more (ASCII digits only).

    Raises:
        ValueError: "must be a whole number of 1 or more, not '<raw>'".
    """
    if not (raw.isascii() and raw.strip().isdigit()) or int(raw) < 1:
        raise ValueError(f"must be a whole number of 1 or more, not {raw!r}")
    return int(raw)


def data_roots() -> list[Path]:
    """Folders a local `bucket_url` may read: `$SOURCEGATE_DATA_ROOT` or `data/` in the repo.

    The variable may list several folders separated by `os.pathsep` (`:` on Linux); relative
    ones are taken from the repository root. Returned resolved (symlinks followed).
    """
    text = os.environ.get(DATA_ROOT_ENV) or str(DEFAULT_DATA_ROOT)
    return [(PROJECT_ROOT / part).resolve() for part in text.split(os.pathsep) if part.strip()]


def token_store_dir(state_dir: Path) -> Path:
    """Rotated OAuth2 refresh tokens: `$SOURCEGATE_TOKEN_STORE`, else `oauth2_tokens/` in
    ``state_dir`` (the warehouse's state folder). A relative setting is read from the repo root.
    """
    configured = os.environ.get(TOKEN_STORE_ENV)
    if not configured:
        return state_dir / TOKEN_STORE_FOLDER
    return PROJECT_ROOT / Path(configured).expanduser()


@contextlib.contextmanager
def environment(set_vars: Mapping[str, str], lift: tuple[str, ...] = ()) -> Iterator[None]:
    """``set_vars`` set, and variables starting with any of ``lift`` removed, for the block;
    every one of them is restored afterwards (dlt reads its settings from the environment)."""
    lifted = [k for k in os.environ if k.startswith(lift)] if lift else []
    previous = {k: os.environ.get(k) for k in [*set_vars, *lifted]}
    for key in lifted:
        del os.environ[key]
    os.environ.update(set_vars)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
