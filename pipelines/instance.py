"""The Dagster instance shared by `sourcegate run` and `make dev` (a DAGSTER_HOME in the repo)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.warehouse import PROJECT_ROOT

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster"


def ensure_dagster_home() -> Path:
    """Point DAGSTER_HOME at `.dagster/` (unless set) and give it the repo's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    repo_config = PROJECT_ROOT / "dagster.yaml"
    if (
        repo_config.exists()
        and home != PROJECT_ROOT
        and (not config.exists() or config.read_bytes() != repo_config.read_bytes())
    ):
        shutil.copyfile(repo_config, config)
    return home
