"""Scorecard cards from the Dagster instance this machine uses, when it has one: for
commands (like `sourcegate plan`) that show grades without building or creating anything."""

from __future__ import annotations

import os
from typing import Any

from pipelines.spec.registry import LoadedSource


def current_cards(sources: list[LoadedSource]) -> tuple[dict[str, Any], str]:
    """Each source's card over the default window, by name, or ({}, why there are none)."""
    from pipelines.runtime.instance import dagster_home

    home = dagster_home()
    if not (home / "dagster.yaml").is_file():
        return {}, f"no grade: no Dagster instance at {home} (set DAGSTER_HOME to the shared one)"
    from pipelines.runtime.instance import cli_instance, ensure_dagster_home
    from pipelines.scorecard.compute import build_scorecard

    # named, so the instance found is the one opened (and the repo's config is not mirrored)
    os.environ["DAGSTER_HOME"] = str(home)
    ensure_dagster_home()
    with cli_instance() as instance:
        scorecard = build_scorecard(instance, sources)
    return {card.name: card for card in scorecard.sources}, ""
