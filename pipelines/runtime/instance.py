"""The Dagster instance shared by `sourcegate run` and `make dev` (a DAGSTER_HOME in the repo)."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import Any

from pipelines.settings import PROJECT_ROOT

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster"
# CLI runs print their own progress. Dagster's stdout capture would start `tail` and
# `watch_orphans` helper processes for every run: slower to start, and on Ctrl-C they print
# tracebacks into the user's terminal. Their structured events still land in the instance.
_NO_LOG_CAPTURE = {
    "module": "dagster._core.storage.noop_compute_log_manager",
    "class": "NoOpComputeLogManager",
}


def dagster_home() -> Path:
    """Where the instance lives: `$DAGSTER_HOME`, else `.dagster/` in the repo."""
    return Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME)


def ensure_dagster_home() -> Path:
    """Point DAGSTER_HOME at `.dagster/` (unless set), give it a dagster.yaml, create storage.

    The repo-local home always mirrors the repo's dagster.yaml; a DAGSTER_HOME set by the
    deployment keeps its own configuration (for example PostgreSQL storage). Storage is created
    under a file lock: two commands starting at once on a new SQLite instance would otherwise
    both try to create its tables.
    """
    configured = os.environ.get("DAGSTER_HOME")
    home = dagster_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    repo_config = PROJECT_ROOT / "dagster.yaml"
    with (home / ".sourcegate-init.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mirror = (
            not configured and config.exists() and config.read_bytes() != repo_config.read_bytes()
        )
        if repo_config.exists() and (not config.exists() or mirror):
            shutil.copyfile(repo_config, config)
        from dagster import DagsterInstance

        DagsterInstance.get().dispose()  # creates (or migrates) storage once, under the lock
    return home


def cli_instance() -> Any:
    """The shared Dagster instance as CLI commands open it (call `ensure_dagster_home` first).

    Two settings differ from dagster.yaml. No stdout capture (see above). And pools are
    claimed per run: `sourcegate run` holds its warehouse slot for the whole run, retries
    included (`runtime.pool_slots`), so Dagster must not claim and free it per step; a step
    retry would otherwise wait for it in Dagster's loop, which ignores signals and timeouts.
    """
    import yaml
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef  # DagsterInstance.get() uses it too

    home = Path(os.environ["DAGSTER_HOME"])
    config_file = home / "dagster.yaml"
    config = (yaml.safe_load(config_file.read_text()) if config_file.exists() else None) or {}
    concurrency = dict(config.get("concurrency") or {})
    concurrency["pools"] = {**(concurrency.get("pools") or {}), "granularity": "run"}
    overrides = {"compute_logs": _NO_LOG_CAPTURE, "concurrency": concurrency}
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))
