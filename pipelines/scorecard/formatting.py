"""How scorecard numbers read, shared by the terminal table and the HTML page."""

from __future__ import annotations

from datetime import UTC, datetime

NONE = "-"


def percent(share: float | None) -> str:
    """0.953 -> "95.3%"."""
    return NONE if share is None else f"{100 * share:.1f}%"


def score(value: float | None) -> str:
    """A 0-100 score, one decimal."""
    return NONE if value is None else f"{value:.1f}"


def hours(value: float | None) -> str:
    """Hours for a person: "45 min", "3.2 h", "2.1 d"."""
    if value is None:
        return NONE
    if abs(value) < 1:
        return f"{value * 60:.0f} min"
    if abs(value) < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} d"


def moment(timestamp: float | None) -> str:
    """A Unix time as "2026-11-01 08:00 UTC"."""
    if timestamp is None:
        return NONE
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
