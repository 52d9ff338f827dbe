"""Open a local HTML page in Debian's headless Chromium, as a person would, and report on it.

Playwright drives ``/usr/bin/chromium`` (its own browser download needs the internet, which
CI does not have). Every request that is not for a ``file://`` URL is aborted and recorded,
so a test can prove the page works offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

# The scorecard page sets data-state on each .chart once vegaEmbed has finished with it.
ALL_CHARTS_DONE = "[...document.querySelectorAll('.chart')].every(c => c.dataset.state)"

COLLECT_FACTS = """() => ({
  title: document.title,
  text: document.body.innerText,
  sections: [...document.querySelectorAll('section.source')].map(s => ({
    id: s.id,
    grade: s.dataset.grade,
    grade_text: s.querySelector('h2 .grade')?.textContent ?? null,
    called_out: s.classList.contains('called-out'),
    text: s.innerText,
  })),
  charts: [...document.querySelectorAll('.chart')].map(c => ({
    id: c.id,
    name: c.dataset.chart,
    state: c.dataset.state ?? null,
    section: c.closest('section')?.id ?? null,
    svg: c.querySelector('svg') !== null,
    marks: c.querySelectorAll('svg .role-mark > *').length,
  })),
  summary_rows: [...document.querySelectorAll('table.summary tr')].slice(1).map(
    r => [...r.cells].map(td => td.innerText)),
  called_out_rows: [...document.querySelectorAll('table.summary tr.called-out')].map(
    r => r.cells[0].innerText),
  callout_text: document.querySelector('.callout')?.innerText ?? null,
})"""


@dataclass
class PageReport:
    """What the browser saw: the DOM facts from COLLECT_FACTS and everything that went wrong."""

    facts: dict[str, Any]
    screenshot: Path
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)  # Vega's "WARN ..." land here
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def section(self, section_id: str) -> dict[str, Any]:
        """The facts of the ``section.source`` with this id."""
        return next(s for s in self.facts["sections"] if s["id"] == section_id)


def open_page(path: Path, screenshot: Path) -> PageReport:
    """Open ``path`` offline in headless Chromium, wait for its charts, take a full-page
    screenshot to ``screenshot`` and return what the page showed and what went wrong."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the page test needs Debian's Chromium "
            "(`apt-get install chromium`; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    report = PageReport(facts={}, screenshot=screenshot)

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            report.blocked_requests.append(route.request.url)
            route.abort()

    def on_console(message: Any) -> None:
        if message.type == "error":
            report.console_errors.append(message.text)
        elif message.type == "warning":
            report.console_warnings.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", only_files)
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: report.page_errors.append(str(error)))
            page.goto(path.resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
            page.wait_for_function(ALL_CHARTS_DONE, timeout=TIMEOUT_MS)
            report.facts = page.evaluate(COLLECT_FACTS)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return report
