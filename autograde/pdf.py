"""Print a notebook (or an nbgrader feedback page) to PDF offline, through the system Chromium.

nbconvert makes the HTML; Chromium, driven by Playwright, prints it. Every request the page makes is
answered from local files (the notebook's folder and the MathJax copy that ``jupyter-server-mathjax``
ships) or refused, so printing needs no network and never downloads a browser.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import copy
import html as html_lib
import logging
import mimetypes
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
from nbconvert.exporters import WebPDFExporter
from traitlets import Int, Unicode

from autograde.config import GradingSettings, chromium_variable, launch_environment

log = logging.getLogger(__name__)
_quiet_nbconvert = log.getChild("nbconvert")
_quiet_nbconvert.setLevel(logging.ERROR)

# The page's origin. Nothing resolves it: Playwright answers every request to it from local files.
ORIGIN = "http://notebook.localhost"
MATHJAX_PREFIX = "/__mathjax__/"
FOLDER_COPY_BYTES = 512 << 20  # --execute copies the notebook's folder into the sandbox: at most this
# The shipped MathJax 2 copy has the HTML-CSS output and STIX-Web fonts (not nbconvert's CommonHTML).
MATHJAX_URL = f"{ORIGIN}{MATHJAX_PREFIX}MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}},
  messageStyle: "none"
});
</script>"""
# Any <script src=...MathJax.js or latest.js...> (nbconvert's and nbgrader's feedback template load it from a CDN).
MATHJAX_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"'][^\"']*mathjax[^\"']*[\"'][^>]*>\s*</script>", re.IGNORECASE)

PAGE_MARGIN_MM = 12  # left and right, on A4 (210 mm wide)
PRINT_WIDTH_PX = round((210 - 2 * PAGE_MARGIN_MM) / 25.4 * 96)  # the printed column in CSS pixels (703)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]

# Printed pages: wrap long code lines and outputs instead of cutting them off at the margin.
PRINT_CSS = """
pre, .jp-OutputArea-output pre, .jp-InputArea-editor pre, .highlight pre, div.output_area pre, .CodeMirror pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere !important; word-break: break-word;
}
.jp-OutputArea-output, .jp-InputArea-editor, div.output_subarea, div.input_area { overflow: visible !important; }
.jp-OutputArea-output img, div.output_area img { max-width: 100% !important; height: auto !important; }
.jp-RenderedImage, .jp-OutputArea-output img, div.output_png { break-inside: avoid; page-break-inside: avoid; }
.jp-RenderedHTMLCommon table { max-width: 100%; }
.course-widget { display: flex; flex-wrap: wrap; gap: 0.5em; align-items: center; font-family: monospace; }
"""

WAIT_FOR_PAGE = """async (limitMs) => {
  const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), limitMs));
  const mathjax = new Promise(resolve => {
    if (!window.MathJax || !MathJax.Hub) { resolve('none'); return; }
    // After MathJax's start-up, queue behind the Typeset call that nbconvert's page queued. The hook
    // must return nothing: a hook that returns a callback makes start-up wait for it (a deadlock here).
    MathJax.Hub.Register.StartupHook('End', () => { MathJax.Hub.Queue(() => resolve('done')); });
  });
  const state = await Promise.race([mathjax, timeout]);
  await document.fonts.ready;
  await Promise.all(Array.from(document.images).map(img => img.complete ? null
      : new Promise(resolve => { img.onload = img.onerror = resolve; })));
  return {mathjax: state,
          typeset: document.querySelectorAll('.MathJax, .MathJax_Display').length,
          errors: document.querySelectorAll('.MathJax_Error, [data-mjx-error]').length};
}"""


class PDFError(RuntimeError):
    """Printing cannot start: something to install or to point at is missing (the message says what)."""


class BrowserNotFoundError(PDFError):
    """No Chromium (or Chrome) to print with."""


def find_chromium(explicit: str | os.PathLike | None = None) -> Path:
    """The browser to print with: ``explicit``, else ``$COURSE_CHROMIUM``, else chromium/chrome on PATH."""
    for source, candidate in (("--browser", explicit), ("COURSE_CHROMIUM", chromium_variable())):
        if candidate:
            path = Path(candidate).expanduser()
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise BrowserNotFoundError(f"{source} names {path}, which is not an executable file; "
                                           "give the path of a Chromium or Chrome binary")
            return path
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise BrowserNotFoundError(
        "course pdf needs Chromium (or Google Chrome) and found none on PATH "
        f"(looked for {', '.join(CHROMIUM_NAMES)}). Install it (Debian/Ubuntu: `sudo apt-get install chromium`; "
        "macOS: `brew install --cask chromium`), or pass --browser PATH, or set COURSE_CHROMIUM=PATH.")


def mathjax_dir() -> Path:
    """The folder of the MathJax copy that jupyter-server-mathjax ships."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise PDFError("course pdf needs the jupyter-server-mathjax package for offline formulas; "
                           "pip install 'course-dl[pdf]'") from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def use_local_mathjax(html: str) -> str:
    """Point the page's MathJax script at the local copy (and configure it for the fonts that copy has)."""
    local = f'{MATHJAX_CONFIG}\n<script src="{MATHJAX_URL}"></script>'
    html, count = MATHJAX_SCRIPT.subn(lambda _: local, html, count=1)
    if count == 0:  # a page without MathJax: add it, formulas may be in the markdown all the same
        html = html.replace("</head>", local + "\n</head>", 1)
    return html


# --- widgets: printed as static HTML from the state nbclient saved, since no widget manager runs offline

def _widget_html(model_id: str, state: dict) -> str | None:
    """Static HTML for a widget (tqdm's bar is an HBox of HTML, FloatProgress, HTML); None if unknown."""
    model = state.get(model_id)
    if model is None:
        return None
    name, values = model.get("model_name", ""), model.get("state", {})
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<span>{values.get('value', '')}</span>"
    if name == "LabelModel":
        return f"<span>{html_lib.escape(str(values.get('value', '')))}</span>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        label = html_lib.escape(str(values.get("description", "")))
        return f"<span>{label}</span><progress value=\"{values.get('value', 0)}\" max=\"{values.get('max', 100)}\"></progress>"
    if name in ("HBoxModel", "VBoxModel", "BoxModel", "GridBoxModel"):
        parts = [_widget_html(child.removeprefix("IPY_MODEL_"), state) for child in values.get("children", [])]
        direction = "column" if name == "VBoxModel" else "row"
        return f'<div class="course-widget" style="flex-direction:{direction}">{"".join(p for p in parts if p)}</div>'
    return None


def static_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose widget outputs are static HTML (or their text form); no widget scripts."""
    nb = copy.deepcopy(nb)
    saved = nb.metadata.pop("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    state = saved.get("state", {})
    view = "application/vnd.jupyter.widget-view+json"
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if view in data:
                widget = _widget_html(data.pop(view).get("model_id", ""), state)
                if widget is not None:
                    data["text/html"] = widget
    return nb


# --- printing

def _serve(route, roots: dict[str, Path], blocked: list[str]) -> None:
    """Answer a request from local files under ``roots`` (URL prefix -> folder); refuse everything else."""
    url = urlsplit(route.request.url)
    if f"{url.scheme}://{url.netloc}" == ORIGIN:
        path = unquote(url.path)
        for prefix, root in roots.items():
            if path.startswith(prefix):
                target = (root / path[len(prefix):]).resolve()
                # Only files inside the root: a page's scripts must not read the rest of the disk.
                if target.is_file() and target.is_relative_to(root.resolve()):
                    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                    route.fulfill(path=target, content_type=kind)
                    return
                break
    blocked.append(route.request.url)
    route.abort()


def html_to_pdf(html: str, folder: str | os.PathLike = ".", browser: str | os.PathLike | None = None,
                timeout_ms: int = 60_000) -> bytes:
    """Print an HTML page to PDF bytes with Chromium, offline; relative links resolve in ``folder``."""
    executable = find_chromium(browser)
    page_html = use_local_mathjax(html)
    folder = Path(folder).resolve()
    # Playwright's sync API refuses to run inside an asyncio loop (Jupyter has one), so print in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print, page_html, folder, executable, timeout_ms).result()


def _print(page_html: str, folder: Path, executable: Path, timeout_ms: int) -> bytes:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise PDFError("course pdf needs Playwright's Python package (it drives Chromium); "
                           "pip install 'course-dl[pdf]'") from error

    blocked: list[str] = []
    roots = {MATHJAX_PREFIX: mathjax_dir(), "/": folder}
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS,
                                                  handle_sigint=False, handle_sigterm=False, handle_sighup=False)
        except PlaywrightError as error:
            raise BrowserNotFoundError(f"could not start the browser {executable}: {error.message.splitlines()[0]}; "
                                       "install Chromium (`sudo apt-get install chromium`) or pass --browser PATH "
                                       "/ set COURSE_CHROMIUM to a working one") from error
        try:
            # As wide as the printed column, so that MathJax breaks wide formulas for the paper, not a screen.
            page = chromium.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
            page.set_default_timeout(timeout_ms)
            page.route("**/*", lambda route: (route.fulfill(body=page_html, content_type="text/html")
                                              if route.request.url == f"{ORIGIN}/__notebook__.html"
                                              else _serve(route, roots, blocked)))
            page.emulate_media(media="print")
            page.goto(f"{ORIGIN}/__notebook__.html", wait_until="load")
            page.add_style_tag(content=PRINT_CSS)
            result = page.evaluate(WAIT_FOR_PAGE, timeout_ms)
            log.info("page ready: %s; refused %d requests to other places: %s", result, len(blocked), blocked[:5])
            if result["mathjax"] == "timeout":
                log.warning("MathJax did not finish within %d ms; formulas may show as TeX source", timeout_ms)
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                            margin={"top": "15mm", "bottom": "15mm", "left": f"{PAGE_MARGIN_MM}mm",
                                    "right": f"{PAGE_MARGIN_MM}mm"})
        finally:
            chromium.close()


class ChromiumPDFExporter(WebPDFExporter):
    """nbconvert's WebPDF exporter, printing with a given Chromium offline instead of downloading one."""

    browser = Unicode("", help="Path of the Chromium/Chrome binary; empty: $COURSE_CHROMIUM or PATH").tag(config=True)
    ready_timeout = Int(60_000, help="Milliseconds to wait for MathJax and images before printing anyway").tag(config=True)

    def from_notebook_node(self, nb, resources=None, **kw):
        """Widgets as static HTML, then nbconvert's HTML, printed by Chromium."""
        resources = dict(resources or {})
        self._folder = resources.get("metadata", {}).get("path") or "."
        return super().from_notebook_node(static_widgets(nb), resources=resources, **kw)

    def run_playwright(self, html):
        """Print ``html`` with the system Chromium (replaces nbconvert's launcher, which cannot be given one)."""
        return html_to_pdf(html, self._folder, self.browser or None, timeout_ms=self.ready_timeout)

    def __repr__(self) -> str:
        return f"ChromiumPDFExporter(browser={self.browser or 'found at print time'!r})"


def kernel_env() -> dict[str, str]:
    """This environment with matplotlib's inline backend: figures must reach the PDF even where
    MPLBACKEND=Agg is set (servers, CI), which would leave every plot as "<Figure size ...>" text."""
    return launch_environment({"MPLBACKEND": "module://matplotlib_inline.backend_inline"})


def sandbox_options(code_cells: int, timeout: int) -> dict:
    """nbclient options that start the kernel in the grading sandbox under its default limits, where
    bubblewrap works here; else none (today's plain kernel), said in one line."""
    from autograde.sandbox import bubblewrap

    path, why = bubblewrap.bwrap_status()
    if path is None:
        log.warning("no sandbox (%s): the notebook runs with your rights, as in Jupyter", why)
        return {}
    from autograde.sandbox.manager import SandboxKernelManager

    # The whole notebook may take every cell's limit: a student's full-length run is no grading run.
    # One kernel: a zygote would only add its own start.
    settings = GradingSettings(cell_seconds=timeout, notebook_seconds=timeout * max(code_cells, 1), warm_start=False)
    return {"kernel_manager_class": SandboxKernelManager, "config": settings.as_config()}


def copy_of_folder(folder: Path, scratch: Path) -> None:
    """The notebook's folder copied into the sandbox's scratch folder (its only writable place), so that
    relative paths work and nothing the notebook writes touches the original; refuses a huge folder."""
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    if total > FOLDER_COPY_BYTES:
        raise ValueError(f"{folder} holds {total >> 20} MiB; --execute runs a copy of the notebook's folder in "
                         f"the sandbox (at most {FOLDER_COPY_BYTES >> 20} MiB): move the notebook into a folder "
                         "of its own with the files it reads")
    shutil.copytree(folder, scratch, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", ".git"))


def run_as_student(nb: nbformat.NotebookNode, folder: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell with nbclient (errors kept in the outputs, as a student would see them), in the
    sandbox on a copy of ``folder`` where bubblewrap works, else in ``folder`` itself."""
    from nbclient import NotebookClient
    from tqdm.auto import tqdm
    from traitlets.config import Config

    code_cells = sum(cell.cell_type == "code" for cell in nb.cells)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    sandbox = sandbox_options(code_cells, timeout)
    with tempfile.TemporaryDirectory(prefix="course-pdf-") as scratch, \
            tqdm(total=code_cells, desc="executing", unit="cell") as bar:
        if sandbox:
            copy_of_folder(folder, Path(scratch))
        # Without the sandbox, over local sockets (IPC) as in it, not TCP: nothing to eavesdrop on, and no
        # "running over TCP without encryption" warning from the kernel in the student's terminal.
        options = sandbox or {"config": Config({"KernelManager": {"transport": "ipc",
                                                                  "ip": os.path.join(scratch, "kernel")}})}
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name=kernel_name,
                                resources={"metadata": {"path": scratch if sandbox else str(folder)}},
                                on_cell_executed=lambda **_: bar.update(), **options)
        client.execute(env=kernel_env())
    errors = sum(output.get("output_type") == "error" for cell in nb.cells for output in cell.get("outputs", []))
    if errors:
        log.warning("%d cells raised errors while executing; they are printed as they are", errors)
    return nb


def notebook_to_pdf(path: str | os.PathLike, out: str | os.PathLike | None = None, execute: bool = False,
                    browser: str | os.PathLike | None = None, timeout: int = 600) -> Path:
    """Print a notebook (.ipynb) or an HTML page (nbgrader feedback) to PDF; returns the PDF's path."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}; give the path of an .ipynb (or feedback .html) file")
    suffix = path.suffix.lower()
    if suffix not in (".ipynb", ".html", ".htm"):
        raise ValueError(f"{path.name}: course pdf prints .ipynb notebooks and .html pages, not {suffix or 'this'}")
    out = Path(out).resolve() if out else path.with_suffix(".pdf")
    find_chromium(browser)  # fail before a long execution, not after it
    if suffix != ".ipynb":
        if execute:
            raise ValueError(f"--execute runs a notebook; {path.name} is an HTML page, print it without --execute")
        pdf = html_to_pdf(path.read_text(encoding="utf-8"), path.parent, browser)
    else:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several kinds for a broken file
            raise ValueError(f"{path} is not a readable notebook: {error}") from error
        if execute:
            nb = run_as_student(nb, path.parent, timeout)
        exporter = ChromiumPDFExporter(browser=str(browser or ""))
        exporter.log = _quiet_nbconvert  # its "alternative text is missing" warning only confuses students
        pdf, _ = exporter.from_notebook_node(nb, resources={"metadata": {"path": str(path.parent),
                                                                         "name": path.stem}})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", help="the notebook (.ipynb) or nbgrader feedback page (.html) to print")
    parser.add_argument("-o", "--output", metavar="OUT", help="the PDF to write (default: beside the notebook)")
    parser.add_argument("--execute", action="store_true", help="run all cells first (in the notebook's folder)")
    parser.add_argument("--browser", metavar="PATH", help="Chromium/Chrome binary (default: $COURSE_CHROMIUM or PATH)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell with --execute (default 600)")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="course pdf: %(message)s")
    try:
        out = notebook_to_pdf(args.notebook, args.output, execute=args.execute, browser=args.browser,
                              timeout=args.timeout)
    except (PDFError, FileNotFoundError, ValueError) as error:
        print(f"course pdf: {error}", file=sys.stderr)
        return 2
    print(f"course pdf: wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0
