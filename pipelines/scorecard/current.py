"""Scorecard cards from the Dagster instance this machine uses, when it has one: for
commands (like `sourcegate plan`) that show grades without building or creating anything."""

from __future__ import annotations

import os
from typing import Any

from pipelines.spec.registry import LoadedSource


def current_cards(sources: list[LoadedSource]) -> tuple[dict[str, Any], str]:
    """Each source's card over the default window, by name, or ({}, why there are none)."""
    from pipelines.runtime.instance import DEFAULT_DAGSTER_HOME

    home = os.environ.get("DAGSTER_HOME") or str(DEFAULT_DAGSTER_HOME)
    if not os.path.isfile(os.path.join(home, "dagster.yaml")):
        return {}, f"no grade: no Dagster instance at {home} (set DAGSTER_HOME to the shared one)"
    from pipelines.runtime.instance import cli_instance, ensure_dagster_home
    from pipelines.scorecard.compute import build_scorecard

    os.environ["DAGSTER_HOME"] = home
    ensure_dagster_home()
    with cli_instance() as instance:
        scorecard = build_scorecard(instance, sources)
    return {card.name: card for card in scorecard.sources}, ""
