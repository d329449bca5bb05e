"""`course pdf`: notebooks and feedback pages printed by the system Chromium, offline, checked with poppler."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograde import pdf
from autograde.sandbox.bubblewrap import bwrap_status
from tests.support.paths import FIXTURES, REPO
from tests.support.poppler import pdf_images, words_beyond
from tests.support.requirements import requires, strict

SAMPLE = FIXTURES / "sample_chapter.ipynb"
RIGHT_MARGIN_PT = pdf.PAGE_MARGIN_MM / 25.4 * 72
CHAPTERS = [REPO / "notebooks" / "05-mlp" / "05-mlp.ipynb", SAMPLE]
needs_tools = requires(shutil.which("pdftotext") and shutil.which("pdfimages"),
                       "poppler-utils (pdftotext, pdfimages) not installed")
needs_browser = requires(any(shutil.which(name) for name in pdf.CHROMIUM_NAMES),
                         "no Chromium on PATH (apt-get install chromium)")


def offline(command: list[str]) -> list[str]:
    """``command`` in a new network namespace with only loopback (kernels talk over it)."""
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    if shutil.which("bwrap"):  # unprivileged: bubblewrap brings loopback up in its new namespace itself
        return ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", *command]
    (pytest.fail if strict() else pytest.skip)("neither root with unshare nor bwrap is available to switch the network off")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def assert_typeset(text: str, strict: bool = True) -> None:
    """No TeX source left: the formulas went through MathJax (``strict``: not a single $ in the text)."""
    if strict:
        assert "$" not in text, "raw $...$ left in the PDF text"
    assert not re.search(r"\$[^$\n]*\\[a-zA-Z]+", text), "TeX source left in the PDF text"
    assert not re.search(r"\\(frac|sum|mathbb|hat|log|mathrm|operatorname)\b", text)


def chapter() -> Path:
    """A real chapter that trains with fit and plots (the small sample until one exists)."""
    return next(path for path in CHAPTERS if path.exists())


def squeeze(text: str) -> str:
    """Text without whitespace: wrapped lines and page breaks do not matter when looking for a phrase."""
    return "".join(text.split())


def plain(markdown: str) -> str:
    """Roughly what a markdown line looks like once rendered: no #, *, `, link targets."""
    markdown = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    return re.sub(r"^\s*(#+|[-*]|\d+\.)\s+|[*`_]", "", markdown)


def expected_phrases(nb) -> dict[str, list[str]]:
    """Headings, the first lines of the answers (nbgrader solution cells) and the longest code line."""
    headings, answers, code_lines = [], [], []
    for cell in nb.cells:
        lines = [line for line in cell.source.splitlines() if line.strip()]
        if cell.cell_type == "markdown":
            headings += [plain(line) for line in lines if line.startswith("#") and "SOLUTION" not in line
                         and "$" not in line]
        else:
            code_lines += lines
        if cell.metadata.get("nbgrader", {}).get("solution"):
            body = [line for line in lines if "SOLUTION" not in line and "$" not in line
                    and not line.lstrip().startswith(('"""', "def ", "class "))]
            answers += [plain(line) if cell.cell_type == "markdown" else line for line in body[:2]]
    return {"headings": headings, "answers": answers, "longest": [max(code_lines, key=len)]}


@pytest.fixture(scope="module")
def executed_pdf(tmp_path_factory, fashion_root) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """`course pdf --execute` on a chapter (COURSE_FAST=1), run with the network switched off and
    MPLBACKEND=Agg set, as on servers and in CI: the kernel must draw inline all the same."""
    folder = tmp_path_factory.mktemp("pdf")
    notebook = folder / chapter().name
    shutil.copy(chapter(), notebook)
    out = folder / "printed" / "chapter.pdf"
    env = {**os.environ, "COURSE_FAST": "1", "COURSE_DATA_DIR": str(fashion_root), "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "autograde.cli", "pdf", str(notebook), "-o", str(out), "--execute"]
    done = subprocess.run(offline(command), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "without encryption" not in done.stderr  # the kernel talks over local sockets, quietly
    return notebook, out, done


@pytest.mark.slow
@needs_tools
@needs_browser
def test_executed_chapter_prints_offline_with_text_math_and_figures(executed_pdf):
    notebook, out, done = executed_pdf
    assert out.read_bytes().startswith(b"%PDF-")
    assert f"wrote {out}" in done.stdout
    text = pdf_text(out)
    found = squeeze(text)
    nb = nbformat.read(notebook, as_version=4)
    phrases = expected_phrases(nb)
    assert phrases["headings"] and phrases["answers"]
    for kind, wanted in phrases.items():  # the longest code line wraps instead of running off the page
        missing = [phrase for phrase in wanted if squeeze(phrase) not in found]
        assert not missing, f"{kind} missing from the PDF: {missing}"
    assert re.search(r"Epoch.*100%", text), "the training progress bar is missing"
    assert "validation accuracy" in text  # HistoryPlotter's results table
    code = "".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert_typeset(text, strict="$" not in code)
    images = pdf_images(out)
    assert images, "the figures are not in the PDF (with MPLBACKEND=Agg, was the kernel not inline?)"
    assert max(width for width, _ in images) >= 400  # a full figure, not an icon
    assert "<Figure size" not in text  # a figure printed as its text form


@pytest.mark.slow
@needs_tools
@needs_browser
def test_student_version_without_outputs_prints(tmp_path):
    nb = nbformat.read(SAMPLE, as_version=4)
    nb.cells[-1].source = "YOUR ANSWER HERE"  # what nbgrader leaves in a student's copy
    student = tmp_path / "student.ipynb"
    nbformat.write(nb, student)
    out = pdf.notebook_to_pdf(student)
    assert out == tmp_path / "student.pdf"
    text = pdf_text(out)
    assert "YOUR ANSWER HERE" in text and "Question 1" in text
    assert "In [ ]" in text  # unexecuted cells, no outputs
    assert_typeset(text)
    assert "∑" in text  # MathJax's glyph for the sample's \sum
    assert pdf_images(out) == []


@pytest.mark.slow
@needs_tools
@needs_browser
def test_nbgrader_feedback_page_prints_with_local_mathjax(tmp_path):
    import nbgrader
    from nbconvert import HTMLExporter

    # The same template and paths that nbgrader's GenerateFeedback sets up.
    formgrader = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    css = formgrader / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[str(formgrader / "templates")],
                            extra_template_paths=[str(css)])
    nb = nbformat.read(SAMPLE, as_version=4)
    nb.cells[-1].metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "softmax", "points": 2,
                                         "score": 1.5, "locked": False, "schema_version": 3}
    page, _ = exporter.from_notebook_node(nb, resources={"nbgrader": {"notebook": "sample_chapter", "score": 1.5,
                                                                      "max_score": 2, "late_penalty": 0}})
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" in page  # nbgrader's page loads MathJax from the web
    feedback = tmp_path / "sample_chapter.html"
    feedback.write_text(page, encoding="utf-8")
    out = pdf.notebook_to_pdf(feedback, tmp_path / "feedback.pdf")
    text = pdf_text(out)
    assert "Score: 1.5 / 2.0" in text and "sum to one" in text
    assert_typeset(text)
    assert "∑" in text  # MathJax's glyph for the sample's \sum


def test_local_mathjax_replaces_the_cdn_script():
    page = ('<html><head><script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js'
            '?config=TeX-AMS_CHTML-full,Safe"> </script></head><body>$x$</body></html>')
    local = pdf.use_local_mathjax(page)
    assert "cdnjs" not in local and local.count(pdf.MATHJAX_URL) == 1
    assert local.index("text/x-mathjax-config") < local.index(pdf.MATHJAX_URL)
    assert pdf.use_local_mathjax("<html><head></head><body></body></html>").count(pdf.MATHJAX_URL) == 1
    assert (pdf.mathjax_dir() / "MathJax.js").is_file()
    assert (pdf.mathjax_dir() / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()


def test_widgets_become_static_html():
    view = "application/vnd.jupyter.widget-view+json"
    state = {
        "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_label", "IPY_MODEL_bar"]}},
        "label": {"model_name": "HTMLModel", "state": {"value": "Epoch: 100%"}},
        "bar": {"model_name": "FloatProgressModel", "state": {"value": 2.0, "max": 2.0}},
    }
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("display_data", data={view: {"model_id": "box"}, "text/plain": "HBox(...)"}),
        nbformat.v4.new_output("display_data", data={view: {"model_id": "closed"}, "text/plain": "gone"}),
    ])])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    static = pdf.static_widgets(nb)
    shown, unknown = (output["data"] for output in static.cells[0].outputs)
    assert "Epoch: 100%" in shown["text/html"] and '<progress value="2.0" max="2.0">' in shown["text/html"]
    assert view not in shown and view not in unknown and unknown == {"text/plain": "gone"}
    assert "widgets" not in static.metadata and "widgets" in nb.metadata  # the original is untouched


def test_missing_browser_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("COURSE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(pdf.BrowserNotFoundError, match=r"apt-get install chromium.*--browser PATH.*COURSE_CHROMIUM"):
        pdf.find_chromium()
    monkeypatch.setenv("COURSE_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(pdf.BrowserNotFoundError, match="COURSE_CHROMIUM names .*no-such-browser"):
        pdf.find_chromium()
    # The command line turns it into a message and exit status 2, before executing anything.
    from autograde.cli import main
    assert main(["pdf", str(SAMPLE), "--execute", "--browser", str(tmp_path / "nope")]) == 2
    assert "--browser names" in capsys.readouterr().err


def test_bad_input_is_named(tmp_path, capsys):
    from autograde.cli import main
    assert main(["pdf", str(tmp_path / "missing.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["pdf", str(tmp_path / "notes.txt")]) == 2
    assert "prints .ipynb notebooks and .html pages" in capsys.readouterr().err


# Runs `course ARGS...` with nbgrader not importable, as after `pip install -e '.[pdf]'`.
WITHOUT_NBGRADER = """
import sys

class NoNbgrader:
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] == 'nbgrader':
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoNbgrader())
try:
    import nbgrader
except ModuleNotFoundError:
    pass
else:
    sys.exit('nbgrader was not blocked')
from autograde.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@needs_tools
@needs_browser
def test_course_pdf_works_without_nbgrader(tmp_path):
    out = tmp_path / "sample.pdf"
    done = subprocess.run([sys.executable, "-c", WITHOUT_NBGRADER, "pdf", str(SAMPLE), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wrote {out}" in done.stdout and "Question 1" in pdf_text(out)
    listing = subprocess.run([sys.executable, "-c", WITHOUT_NBGRADER, "--help"], capture_output=True, text=True)
    assert listing.returncode == 0 and "generate" in listing.stdout and "pdf" in listing.stdout, listing.stderr
    needs_nbgrader = subprocess.run([sys.executable, "-c", WITHOUT_NBGRADER, "generate", "--help"],
                                    capture_output=True, text=True)
    assert needs_nbgrader.returncode != 0
    assert "course generate needs the Python package 'nbgrader'" in needs_nbgrader.stderr
    assert "pip install -e '.[grading]'" in needs_nbgrader.stderr


PROBE = """
import os, pathlib
rows = [pathlib.Path('data.txt').read_text().strip()]  # its folder's files, by relative path
try:
    rows.append(open({secret!r}).read())
except OSError as error:
    rows.append(type(error).__name__)
pathlib.Path('written.txt').write_text('x')
rows.append(os.getuid())
print(rows)
"""


@pytest.mark.slow
@requires(bwrap_status()[0] is not None, bwrap_status()[1])
def test_execute_runs_the_notebook_in_the_sandbox_on_a_copy_of_its_folder(tmp_path):
    """An instructor printing a student's notebook: the notebook reads its own folder's files, but not
    the files beside it, and what it writes stays out of the original folder."""
    folder, secret = tmp_path / "submission", tmp_path / "instructor-secret.txt"
    folder.mkdir()
    (folder / "data.txt").write_text("from the folder\n")
    secret.write_text("grades of the whole class")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE.format(secret=str(secret)))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    pdf.run_as_student(nb, folder, timeout=60)
    printed = "".join(output.get("text", "") for output in nb.cells[0].outputs)
    folder_text, secret_read, uid = eval(printed)  # the probe printed a list of plain values
    assert folder_text == "from the folder"
    assert secret_read in ("FileNotFoundError", "PermissionError"), f"the notebook read {secret_read!r}"
    assert not (folder / "written.txt").exists()
    assert uid != os.geteuid() or os.geteuid() != 0  # as root, the kernel ran as another user


@pytest.mark.slow
@needs_tools
@needs_browser
def test_wide_display_formulas_stay_inside_the_right_margin(tmp_path):
    """Chapter 05's section 5.3 formula and a 40-term sum: MathJax breaks them, nothing runs past the margin."""
    chapter_05 = nbformat.read(REPO / "notebooks" / "05-mlp" / "05-mlp.ipynb", as_version=4)
    wide = [c.source for c in chapter_05.cells if c.cell_type == "markdown" and "## 5.3" in c.source]
    terms = " + ".join(f"w_{{{i}}} x_{{{i}}}" for i in range(1, 41))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(s) for s in [*wide, f"$$\\hat y = {terms}$$"]])
    nbformat.write(nb, tmp_path / "wide.ipynb")
    out = pdf.notebook_to_pdf(tmp_path / "wide.ipynb")
    assert_typeset(pdf_text(out), strict=False)
    printed = squeeze(pdf_text(out))
    assert all(f"𝑤{i}𝑥{i}" in printed for i in range(1, 41)), "terms of the long sum are cut off"
    assert words_beyond(out, RIGHT_MARGIN_PT) == []
