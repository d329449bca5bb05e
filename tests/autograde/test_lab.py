"""The students' side in a real JupyterLab (system Chromium): the live plot is live, the saved notebook
shows no widget error when reopened, and `course pdf` prints its figures.

Uses tests.support.browser's server (COURSE_FAST=1, the chapter copied into a fresh folder) and helpers.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from autograde import pdf
from tests.support.browser import ALL_CELLS_RAN, chapter, jupyter_lab, lab_page, wait_for_kernel  # noqa: F401 (a fixture)
from tests.support.poppler import pdf_images
from tests.support.requirements import requires

pytestmark = [
    pytest.mark.slow,
    requires(any(shutil.which(name) for name in pdf.CHROMIUM_NAMES), "no Chromium on PATH (apt-get install chromium)"),
    requires(shutil.which("pdfimages"), "poppler-utils (pdfimages) not installed"),
]

# Records every image shown in a HistoryPlotter cell while the notebook runs, with the progress bar
# widget that was live in that cell at the time (each bar gets a number), so a test can tell whether
# the figure changed while one fit was still running.
WATCH_PLOTS = """() => {
  window.__plots = [];
  let bars = 0;
  const plotterCell = node => {
    const cell = node.closest && node.closest('.jp-CodeCell');
    const editor = cell && cell.querySelector('.jp-InputArea-editor');
    return editor && editor.textContent.includes('HistoryPlotter(') ? cell : null;
  };
  const seen = img => {
    const cell = plotterCell(img);
    if (!cell || !img.src) return;
    // The newest bar on screen (a closed one can linger hidden), and the text beside it ("Epoch: 50%|...").
    const bar = Array.from(cell.querySelectorAll('.widget-hprogress')).filter(b => b.offsetParent !== null).pop();
    if (bar && !bar.dataset.courseBar) bar.dataset.courseBar = String(++bars);
    const output = bar && bar.closest('.jp-OutputArea-output');
    window.__plots.push({src: img.src.slice(-200) + img.src.length, bar: bar ? bar.dataset.courseBar : null,
                         progress: output ? output.innerText : ''});
  };
  new MutationObserver(records => records.forEach(record => {
    if (record.type === 'attributes') { seen(record.target); return; }
    record.addedNodes.forEach(node => {
      if (!(node instanceof Element)) return;
      (node.matches('img') ? [node] : Array.from(node.querySelectorAll('img'))).forEach(seen);
    });
  })).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ['src']});
}"""


def open_notebook(page, base: str, token: str, name: str) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    wait_for_kernel(page, base, token, name)


def menu(page, top: str, item: str) -> None:
    page.click(f".lm-MenuBar-itemLabel:text-is('{top}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def test_live_plot_saved_notebook_without_widget_errors_and_its_pdf(jupyter_lab, tmp_path):
    base, token, root = jupyter_lab
    name = chapter().name
    saved = root / name
    before = saved.stat().st_mtime_ns
    started = time.monotonic()
    with lab_page() as page:
        open_notebook(page, base, token, name)
        page.evaluate(WATCH_PLOTS)
        menu(page, "Run", "Run All Cells")
        page.wait_for_function(ALL_CELLS_RAN, timeout=300_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']")
        plots = page.evaluate("window.__plots")
        ran = time.monotonic() - started

        menu(page, "File", "Save Notebook")
        deadline = time.monotonic() + 30
        while saved.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        menu(page, "File", "Close Tab")
        page.wait_for_selector(".jp-NotebookPanel", state="detached")
        open_notebook(page, base, token, name)  # reopened from the saved file
        page.wait_for_selector(".jp-CodeCell .jp-OutputArea-output img")
        page.wait_for_timeout(2000)  # widget views render asynchronously; give an error time to show
        page_text = page.inner_text("body")

    # While one fit ran (its bar a live widget, short of 100%), the figure showed two different images.
    per_bar: dict[str, set] = {}
    for plot in plots:
        if plot["bar"] and "%" in plot["progress"] and "100%" not in plot["progress"]:
            per_bar.setdefault(plot["bar"], set()).add(plot["src"])
    assert any(len(images) >= 2 for images in per_bar.values()), \
        f"the figure did not change during a fit; images seen per live bar: {[len(v) for v in per_bar.values()]}"

    assert "Error displaying widget" not in page_text
    nb = json.loads(saved.read_text())
    outputs = [output for cell in nb["cells"] for output in cell.get("outputs", [])]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert any("Epoch: 100%" in "".join(o.get("data", {}).get("text/plain", "")) for o in outputs)
    figures = [cell for cell in nb["cells"] if "HistoryPlotter(" in "".join(cell["source"])
               and any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))]
    assert figures, "the saved notebook has no HistoryPlotter figure"

    out = tmp_path / "reopened.pdf"
    done = subprocess.run([sys.executable, "-m", "autograde.cli", "pdf", str(saved), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    wide = [width for width, _ in pdf_images(out) if width >= 400]
    assert len(wide) >= len(figures), f"{len(figures)} HistoryPlotter figures saved, {len(wide)} wide images printed"
    print(f"lab test: {name} ran in {ran:.0f} s, {len(plots)} figure images seen, whole test "
          f"{time.monotonic() - started:.0f} s")
