"""The scorecard as the terminal shows it: one row per source, then what needs attention."""

from __future__ import annotations

from pipelines.cli.text_table import aligned
from pipelines.scorecard import formatting as fmt
from pipelines.scorecard.grading import CALL_OUT_BELOW
from pipelines.scorecard.model import DIMENSIONS, Scorecard, SourceCard

HEADER = ("source", "stage", "grade", "total", "worst", *DIMENSIONS, "time to first load")


def render_text(scorecard: Scorecard) -> str:
    """The table, then one line per production source below C and per source that needs a
    look (stale, failing, anomalies)."""
    rows = [_row(card) for card in scorecard.sources]
    lines = [
        f"scorecard of {len(scorecard.sources)} source(s), last {scorecard.window_days:g} days, "
        f"at {fmt.moment(scorecard.generated_at)}",
        "",
        *aligned(HEADER, rows),
    ]
    called_out = [card for card in scorecard.sources if card.called_out]
    if called_out:
        lines += ["", f"production sources below {CALL_OUT_BELOW}:"]
        lines += [f"  {card.name}: grade {card.grade}, worst {card.worst}" for card in called_out]
    notes = [note for card in scorecard.sources for note in attention(card)]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _row(card: SourceCard) -> tuple[str, ...]:
    return (
        card.name,
        card.stage,
        card.grade,
        fmt.score(card.total),
        card.worst or fmt.NONE,
        *(fmt.score(card.scores.get(d)) for d in DIMENSIONS),
        fmt.hours(card.integration.hours_to_first_load),
    )


def attention(card: SourceCard) -> list[str]:
    """Short lines on what pulls the source's grade down."""
    notes = []
    fresh = card.freshness
    if card.never_loaded:
        late = (
            f"; {fmt.hours(fresh.stale_hours)} past its {fresh.freshness_hours:g} h freshness "
            "SLA since the file was committed"
            if fresh.stale_hours
            else ""
        )
        notes.append(f"{card.name}: never loaded{late}")
    elif fresh.stale_hours:
        notes.append(
            f"{card.name}: stale for {fmt.hours(fresh.stale_hours)} past its "
            f"{fresh.freshness_hours:g} h freshness SLA "
            f"(last success {fmt.moment(fresh.last_success)})"
        )
    if card.reliability.failing_since is not None:
        notes.append(f"{card.name}: failing since {fmt.moment(card.reliability.failing_since)}")
    for load in card.anomalies:
        notes.append(
            f"{card.name}.{load.table}: volume anomaly, {load.rows:,} rows at {fmt.moment(load.at)}"
        )
    failing = [d for d, s in card.quality.by_dimension.items() if s < 100]
    if failing:
        detail = ", ".join(f"{d} {fmt.score(card.quality.by_dimension[d])}" for d in failing)
        notes.append(f"{card.name}: checks not all passing: {detail}")
    return notes
