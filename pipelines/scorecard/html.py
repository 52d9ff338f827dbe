"""The scorecard as one self-contained HTML page: a summary table, a section per source with
small Vega-Lite charts, and the integration timeline.

The page needs no network, so it can be attached to an email: the Vega, Vega-Lite and
vega-embed JavaScript comes from ``vl_convert.javascript_bundle()`` and is inlined once, and
every chart's spec (with its data) is embedded as JSON and drawn as SVG by ``vegaEmbed``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from pipelines.scorecard import formatting as fmt
from pipelines.scorecard.grading import CALL_OUT_BELOW
from pipelines.scorecard.model import DIMENSIONS, QUALITY_DIMENSIONS, Quality, Scorecard, SourceCard
from pipelines.scorecard.text import attention

NONE = fmt.NONE
GOOD, BAD = "#2e7d32", "#c62828"
OUTCOMES = {True: "succeeded", False: "failed"}
EVENTS = ("added", "first load", "promoted", "last change", "first load after change")

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1100px;
       padding: 0 16px; }
h1 { margin-bottom: 0; } h2 { margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta, .empty { color: #666; }
ul.attention { color: #8e2a00; margin: 4px 0 8px; }
.grade { display: inline-block; min-width: 1.6em; text-align: center; border-radius: 4px;
         font-weight: bold; color: #fff; background: #888; }
.grade-A { background: #2e7d32; } .grade-B { background: #689f38; }
.grade-C { background: #f9a825; color: #222; } .grade-D { background: #ef6c00; }
.grade-F { background: #c62828; }
.callout { border: 2px solid #c62828; background: #fdecea; padding: 8px 16px; border-radius: 6px; }
tr.called-out td { background: #fdecea; }
section.source { border-top: 1px solid #ccc; padding-top: 12px; margin-top: 24px; }
section.source.called-out { border-left: 6px solid #c62828; padding-left: 12px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 32px; }
.facts dl { margin: 0; display: grid; grid-template-columns: auto auto; gap: 0 12px; }
.facts h3 { grid-column: 1 / 3; margin: 8px 0 2px; font-size: 14px; }
dt { color: #555; } dd { margin: 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 12px; }
figure { margin: 0; } figcaption { font-weight: 600; }
"""

# Draws every chart from the one JSON block; data-state tells a test when all are done.
RENDER_SCRIPT = """
const specs = JSON.parse(document.getElementById("chart-specs").textContent);
for (const [id, spec] of Object.entries(specs)) {
  const el = document.getElementById(id);
  vegaEmbed(el, spec, {renderer: "svg", actions: false})
    .then(() => { el.dataset.state = "rendered"; })
    .catch((error) => {
      el.dataset.state = "failed";
      el.textContent = "This chart could not be drawn: " + error.message;
      console.error(error);
    });
}
"""


def render_html(scorecard: Scorecard) -> str:
    """The scorecard as one HTML page that works offline (scripts and data inlined)."""
    charts = _Charts()
    body = [
        _header(scorecard),
        _callouts(scorecard.sources),
        _summary(scorecard.sources),
        _integration(scorecard.sources, charts),
        *(_source_section(card, charts) for card in scorecard.sources),
    ]
    # "<" as \u003c keeps "</script>" and "<!--" in any text out of the HTML parser's sight
    specs = json.dumps(charts.specs, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><title>sourcegate scorecard</title>',
            f"<style>{CSS}</style>",
            f"<script>{_javascript_bundle()}</script>",
            "</head>",
            "<body>",
            *body,
            f'<script type="application/json" id="chart-specs">{specs}</script>',
            f"<script>{RENDER_SCRIPT}</script>",
            "</body>",
            "</html>",
        ]
    )


def write_html(scorecard: Scorecard, path: Path) -> Path:
    """Write the page to ``path`` (creating its folders) atomically, and return the path."""
    page = render_html(scorecard)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a reader (a mail client, the Dagster UI) never sees a half-written page
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(page)
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; the page is meant to be shared
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


@functools.cache
def _javascript_bundle() -> str:
    """Vega, Vega-Lite (the version Altair writes specs for) and vega-embed in one script."""
    import altair as alt
    import vl_convert

    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return vl_convert.javascript_bundle(vl_version=f"v{major}_{minor}")


class _Charts:
    """Collects the Vega-Lite specs of the page, each under the id of its container."""

    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}

    def slot(self, chart: Any, name: str) -> str:
        chart_id = f"chart-{len(self.specs) + 1}"
        config = {"font": "system-ui, sans-serif", "view": {"stroke": None}}
        self.specs[chart_id] = {**chart.to_dict(), "config": config}
        return f'<div class="chart" id="{chart_id}" data-chart="{name}"></div>'


def _header(scorecard: Scorecard) -> str:
    days = f"{scorecard.window_days:g}"
    return (
        "<header><h1>sourcegate scorecard</h1>"
        f'<p class="meta">Generated {fmt.moment(scorecard.generated_at)} · window {days} days · '
        f"{len(scorecard.sources)} sources</p></header>"
    )


def _callouts(cards: list[SourceCard]) -> str:
    called_out = [card for card in cards if card.called_out]
    if not called_out:
        return ""
    items = "".join(
        f'<li><a href="#{_anchor(card)}">{escape(card.name)}</a>: grade {escape(card.grade)}, '
        f"worst dimension {escape(card.worst or NONE)}</li>"
        for card in called_out
    )
    title = f"<strong>Production sources below {CALL_OUT_BELOW}</strong>"
    return f'<div class="callout">{title}<ul>{items}</ul></div>'


def _summary(cards: list[SourceCard]) -> str:
    if not cards:
        return '<p class="empty">No sources in the window.</p>'
    head = ["source", "stage", "owner", "grade", "total", "worst", *DIMENSIONS]
    rows = []
    for card in cards:
        cells = [
            f'<td><a href="#{_anchor(card)}">{escape(card.name)}</a></td>',
            f"<td>{escape(card.stage)}</td>",
            f"<td>{escape(card.owner)}</td>",
            f"<td>{_grade(card.grade)}</td>",
            f'<td class="num">{fmt.score(card.total)}</td>',
            f"<td>{escape(card.worst or NONE)}</td>",
            *(f'<td class="num">{fmt.score(card.scores.get(dim))}</td>' for dim in DIMENSIONS),
        ]
        row_class = ' class="called-out"' if card.called_out else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    header = "".join(f"<th>{name}</th>" for name in head)
    return f'<table class="summary"><tr>{header}</tr>{"".join(rows)}</table>'


def _integration(cards: list[SourceCard], charts: _Charts) -> str:
    table = [_integration_row(card) for card in cards]
    head = "".join(f"<th>{name}</th>" for name in table[0]) if table else ""
    rows = [
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row.values()) + "</tr>" for row in table
    ]
    events = [
        {"source": card.name, "event": event, "at": _ms(at), "when": fmt.moment(at)}
        for card in cards
        for event, at in zip(EVENTS, _event_times(card), strict=True)
        if at is not None
    ]
    chart = charts.slot(_timeline_chart(events), "timeline") if events else ""
    return (
        '<section id="integration"><h2>Time to integrate</h2>'
        f'<table class="integration"><tr>{head}</tr>{"".join(rows)}</table>{chart}</section>'
    )


def _integration_row(card: SourceCard) -> dict[str, str]:
    i = card.integration
    return {
        "source": escape(card.name),
        "added": fmt.moment(i.added_at),
        "→ first load": fmt.hours(i.hours_to_first_load),
        "promoted": fmt.moment(i.promoted_at),
        "→ promotion": fmt.hours(i.hours_to_promotion),
        "last change": fmt.moment(i.changed_at),
        "first load after it": fmt.moment(i.first_load_after_change_at),
        "→ load": fmt.hours(i.hours_change_to_load),
        "note": escape(i.note),
    }


def _source_section(card: SourceCard, charts: _Charts) -> str:
    f, r, q = card.freshness, card.reliability, card.quality
    latest = max(card.schema_changes, key=lambda change: change.at, default=None)
    facts = {
        "Freshness": {
            "SLA": fmt.hours(f.freshness_hours),
            "share fresh": fmt.percent(f.share_fresh),
            "current lag": fmt.hours(f.lag_hours),
            "last success": fmt.moment(f.last_success),
            "past SLA by": "within SLA" if f.stale_hours == 0 else fmt.hours(f.stale_hours),
        },
        "Reliability": {
            "runs": f"{r.succeeded} of {r.runs} succeeded",
            "success rate": fmt.percent(r.success_rate),
            "MTTR": fmt.hours(r.mttr_hours),
            "failing since": fmt.moment(r.failing_since),
        },
        "Quality": {
            "overall": fmt.score(q.score),
            **{dim: _checked(q, dim) for dim in QUALITY_DIMENSIONS},
        },
        "Volume and schema": {
            "loads": str(len(card.loads)),
            "anomalies": str(len(card.anomalies)),
            "schema changes": str(len(card.schema_changes)),
            "latest change": NONE
            if latest is None
            else f"{latest.table}: {latest.summary} ({fmt.moment(latest.at)})",
        },
    }
    blocks = "".join(
        f"<dl><h3>{title}</h3>"
        + "".join(f"<dt>{name}</dt><dd>{escape(value)}</dd>" for name, value in pairs.items())
        + "</dl>"
        for title, pairs in facts.items()
    )
    checked = [run for run in card.runs if run.check_pass_rate is not None]
    rows_title = "Rows per load" + (" (◆ volume anomaly)" if card.anomalies else "")
    figures = [
        _figure(rows_title, card.loads, "no loads in the window", charts, _loads_chart, "loads"),
        _figure("Run duration", card.runs, "no runs in the window", charts, _runs_chart, "runs"),
        _figure("Check pass rate", checked, "no checks in the window", charts, _pass_chart, "pass"),
    ]
    notes = "".join(f"<li>{escape(note)}</li>" for note in attention(card))
    classes = "source called-out" if card.called_out else "source"
    return (
        f'<section class="{classes}" id="{_anchor(card)}" data-grade="{escape(card.grade)}">'
        f"<h2>{escape(card.name)} {_grade(card.grade)}</h2>"
        f'<p class="meta">{escape(card.stage)} · owner {escape(card.owner)} · '
        f"total {fmt.score(card.total)} · worst {escape(card.worst or NONE)}</p>"
        + (f'<ul class="attention">{notes}</ul>' if notes else "")
        + f'<div class="facts">{blocks}</div>{_tables(card)}'
        + f'<div class="charts">{"".join(figures)}</div></section>'
    )


def _tables(card: SourceCard) -> str:
    """Per table: freshness, lag, loads, the last load's rows, anomalies, schema changes and
    check score (the source's numbers are its worst table's)."""
    head = ["table", "share fresh", "lag", "loads", "last load rows", "anomalies"]
    head += ["schema changes", "quality"]
    rows = [
        [
            escape(t.table),
            fmt.percent(t.share_fresh),
            fmt.hours(t.lag_hours),
            str(t.loads),
            NONE if t.last_rows is None else f"{t.last_rows:,}",
            str(t.anomalies),
            str(t.schema_changes),
            fmt.score(t.quality),
        ]
        for t in card.tables
    ]
    if not rows:
        return ""
    header = "".join(f"<th>{name}</th>" for name in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="tables"><tr>{header}</tr>{body}</table>'


def _figure(
    title: str, points: list, empty: str, charts: _Charts, build: Callable[[list], Any], name: str
) -> str:
    body = charts.slot(build(points), name) if points else f'<p class="empty">{empty}</p>'
    return f"<figure><figcaption>{title}</figcaption>{body}</figure>"


def _time_axis(field: str = "at", ticks: int = 5) -> Any:
    import altair as alt

    # A UTC scale makes the axis read in UTC, like the rest of the page. No fixed format:
    # Vega picks days or hours to suit the span. Rounding the ends out to whole days keeps a
    # single load (a span of zero) from an axis of milliseconds.
    axis = alt.Axis(tickCount=ticks, labelOverlap=True)
    scale = alt.Scale(type="utc", nice={"interval": "day", "step": 1})
    return alt.X(f"{field}:T", title=None, scale=scale, axis=axis)


def _loads_chart(loads: list) -> Any:
    import altair as alt

    data = [
        {"table": p.table, "at": _ms(p.at), "when": fmt.moment(p.at), "rows": p.rows,
         "anomaly": p.anomaly, "z": None if p.z_score is None else round(p.z_score, 2)}
        for p in loads
    ]  # fmt: skip
    base = alt.Chart(alt.Data(values=data)).encode(
        x=_time_axis(),
        y=alt.Y("rows:Q", title="rows"),
        tooltip=["table:N", "when:N", "rows:Q", alt.Tooltip("z:Q", title="z-score")],
    )
    chart = base.mark_line(point=True, strokeWidth=1.5).encode(color=alt.Color("table:N"))
    # only with anomalies: an empty layer makes Vega warn about an infinite extent
    if any(p.anomaly for p in loads):
        ring = dict(shape="diamond", size=160, color=BAD, strokeWidth=2)
        chart += base.transform_filter("datum.anomaly").mark_point(**ring)
    return chart.properties(width=300, height=140)


def _runs_chart(runs: list) -> Any:
    import altair as alt

    data = [
        {"at": _ms(r.started), "when": fmt.moment(r.started),
         "seconds": round(r.duration_seconds, 1), "outcome": OUTCOMES[r.succeeded]}
        for r in runs
    ]  # fmt: skip
    outcome = alt.Color(
        "outcome:N", scale=alt.Scale(domain=[*OUTCOMES.values()], range=[GOOD, BAD])
    )
    return (
        alt.Chart(alt.Data(values=data))
        .mark_circle(size=60, opacity=0.85)
        .encode(
            x=_time_axis(),
            y=alt.Y("seconds:Q", title="seconds"),
            color=outcome,
            tooltip=["when:N", "outcome:N", "seconds:Q"],
        )
        .properties(width=300, height=140)
    )


def _pass_chart(runs: list) -> Any:
    import altair as alt

    data = [
        {"at": _ms(r.started), "when": fmt.moment(r.started), "rate": r.check_pass_rate}
        for r in runs
    ]
    return (
        alt.Chart(alt.Data(values=data))
        .mark_line(point=True, color="#1565c0")
        .encode(
            x=_time_axis(),
            y=alt.Y(
                "rate:Q", title="passed", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
            ),
            tooltip=["when:N", alt.Tooltip("rate:Q", format=".0%", title="passed")],
        )
        .properties(width=300, height=140)
    )


def _timeline_chart(events: list[dict[str, Any]]) -> Any:
    import altair as alt

    base = alt.Chart(alt.Data(values=events)).encode(y=alt.Y("source:N", title=None, sort=None))
    span = base.mark_rule(color="#999").encode(x=_time_axis("min(at)", 8), x2="max(at):T")
    points = base.mark_point(filled=True, size=90, opacity=1).encode(
        x=_time_axis(ticks=8),
        color=alt.Color("event:N", sort=list(EVENTS), title="event"),
        tooltip=["source:N", "event:N", "when:N"],
    )
    return (span + points).properties(width=700, height={"step": 28})


def _event_times(card: SourceCard) -> tuple[float | None, ...]:
    i = card.integration
    return (i.added_at, i.first_load_at, i.promoted_at, i.changed_at, i.first_load_after_change_at)


def _anchor(card: SourceCard) -> str:
    return escape(f"source-{card.name}")


def _grade(grade: str) -> str:
    kind = grade if grade in ("A", "B", "C", "D", "F") else "none"
    return f'<span class="grade grade-{kind}">{escape(grade)}</span>'


def _ms(timestamp: float | None) -> float | None:
    """Vega reads a number on a temporal axis as milliseconds since the epoch."""
    return None if timestamp is None else timestamp * 1000


def _checked(quality: Quality, dimension: str) -> str:
    count = quality.evaluations.get(dimension, 0)
    runs = f"{count} check run{'s' if count != 1 else ''}"
    return f"{fmt.score(quality.by_dimension.get(dimension))} ({runs})" if count else NONE
