"""A chapter notebook in a real JupyterLab, driven by the system Chromium: run all cells, see the plots and bars.

The server runs on loopback with a token and is always stopped afterwards. A screenshot is kept in
``$COURSE_ARTIFACTS`` (default ``tests/artifacts/``, ignored by git).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from autograde import pdf
from tests.support.browser import (  # noqa: F401 (a fixture)
    ALL_CELLS_RAN,
    ARTIFACTS,
    WATCH_PROGRESS,
    chapter,
    jupyter_lab,
    lab_page,
    wait_for_kernel,
)
from tests.support.requirements import requires

pytestmark = [
    pytest.mark.slow,
    requires(any(shutil.which(name) for name in pdf.CHROMIUM_NAMES), "no Chromium on PATH (apt-get install chromium)"),
]


def test_run_all_cells_shows_history_plot_and_progress_bar(jupyter_lab):
    base, token, root = jupyter_lab
    name = chapter().name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"browser-{Path(name).stem}.png"
    started = time.monotonic()
    with lab_page() as page:
        try:
            page.goto(f"{base}/lab/tree/{name}?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
            wait_for_kernel(page, base, token, name)
            page.evaluate(WATCH_PROGRESS)
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            page.wait_for_function(ALL_CELLS_RAN, timeout=300_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']")
            results = page.evaluate("""() => ({
              plotter: Array.from(document.querySelectorAll('.jp-CodeCell'))
                .filter(cell => cell.querySelector('.jp-InputArea-editor').textContent.includes('HistoryPlotter('))
                .map(cell => Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).map(i => i.naturalWidth)),
              errors: Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')).map(e => e.textContent.slice(0, 300)),
              tables: Array.from(document.querySelectorAll('.jp-OutputArea-output table')).map(t => t.textContent),
              progress: window.__sawProgress,
            })""")
        finally:  # JupyterLab scrolls inside its panel: bring the first figure into view
            figures = page.locator(".jp-CodeCell:has(.jp-InputArea-editor:has-text('HistoryPlotter(')) "
                                   ".jp-OutputArea-output img")
            if figures.count():
                figures.first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot))
    print(f"browser test: {name} ran in JupyterLab in {time.monotonic() - started:.0f} s; screenshot {screenshot}")
    assert results["errors"] == [], results["errors"]
    assert results["plotter"], "no cell makes a HistoryPlotter"
    for widths in results["plotter"]:  # every HistoryPlotter cell shows its figure, full size
        assert any(width >= 400 for width in widths), f"HistoryPlotter figure missing; image widths: {results['plotter']}"
    assert results["progress"], "no progress bar (tqdm widget or text) appeared while training"
    assert any("validation accuracy" in table for table in results["tables"]), "no HistoryPlotter results table"
    assert screenshot.stat().st_size > 10_000
