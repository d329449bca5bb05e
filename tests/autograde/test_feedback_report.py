"""course feedback hides hidden tests (nbgrader's own feedback shows them); course report; course demo."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from autograde.cli import main
from autograde.demo import DEFAULT_KINDS, demo
from autograde.errors import CourseError
from tests.support.grading_course import ASSIGNMENT, add_class, make_course, nbgrader
from tests.support.paths import FIXTURES, REPO

pytestmark = pytest.mark.slow
HIDDEN_MESSAGE = "square of a negative number"  # text that appears only inside a hidden test


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("feedback") / "course")
    add_class(course, ["reference", "exception", "untouched"])
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2"]) == 0
    return course


HIDDEN_OUTPUT = "hidden check of mean"  # printed by a hidden test
HIDDEN_CODE = "mean([0.5, 1.0])"


@pytest.mark.parametrize("tool", ["nbgrader generate_feedback", "course feedback"])
def test_feedback_shows_failures_but_no_hidden_test_or_its_output(graded_course, tool):
    pages = graded_course / "feedback"
    shutil.rmtree(pages, ignore_errors=True)
    if tool == "course feedback":
        assert main(["--course", str(graded_course), "feedback", ASSIGNMENT]) == 0
    else:  # nbgrader's own command (the formgrader's button runs the same converter) reads nbgrader_config.py
        nbgrader(graded_course, "generate_feedback", ASSIGNMENT, "--force")
    written = sorted(pages.glob(f"*/{ASSIGNMENT}/*.html"))
    assert len(written) == 3
    for page in written:
        text = page.read_text()
        assert HIDDEN_MESSAGE not in text and HIDDEN_OUTPUT not in text and HIDDEN_CODE not in text, page
        assert "hidden tests ran here" in text
    failed = (pages / "student-02-exception" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    # square() was never defined: the visible test's own line failed, so the page says how (issue 25)
    assert "NameError: name &#39;square&#39; is not defined" in failed or "NameError: name 'square' is not defined" in failed
    assert "a visible test failed" in failed
    assert "Score: 4.0" in failed or "4.0 / 6.0" in failed  # the scores are still shown
    graded = (graded_course / "autograded" / "student-01-reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert HIDDEN_OUTPUT in graded  # the hidden test did print: the pages leave it out


def test_report_writes_csv_html_and_terminal_table(graded_course, capsys):
    assert main(["--course", str(graded_course), "report", ASSIGNMENT]) == 0
    out = capsys.readouterr().out
    assert "student-01-reference" in out and "mean 3.33/6" in out
    grades = pd.read_csv(graded_course / "reports" / ASSIGNMENT / "grades.csv").set_index("student")
    assert grades.loc["student-01-reference", "score"] == 6
    assert grades.loc["student-03-untouched", "score"] == 0
    assert grades.loc["student-02-exception", "status"] == "raised"
    assert grades.loc["student-02-exception", "test_square"] == 0
    html = (graded_course / "reports" / ASSIGNMENT / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert "RuntimeError" in html  # the reason of the failed submission is listed


def _bundled(tmp_path, with_chapter: bool):
    bundled = tmp_path / "bundled"
    (bundled / "notebooks").mkdir(parents=True)
    config = (FIXTURES / "assignments" / "nbgrader_config.py").read_text().replace('"source"', '"notebooks"')
    (bundled / "nbgrader_config.py").write_text(config)
    if with_chapter:
        shutil.copytree(FIXTURES / "assignments" / ASSIGNMENT, bundled / "notebooks" / ASSIGNMENT)
    return bundled


def test_demo_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert demo(out, workers=2, cell_timeout=4, bundled=_bundled(tmp_path, True)) == 0
    text = capsys.readouterr().out
    assert f"Everything is in {out}" in text
    assert (out / "reports" / ASSIGNMENT / "grades.csv").exists()
    assert (out / "reports" / ASSIGNMENT / "report.html").exists()
    assert f"handed in through Brightspace; `course collect` placed {len(DEFAULT_KINDS)}" in text
    assert (out / "reports" / ASSIGNMENT / "brightspace-grades.csv").read_text().count(",#\n") == len(DEFAULT_KINDS)
    assert len(list(out.glob(f"feedback/*/{ASSIGNMENT}/*.html"))) == len(DEFAULT_KINDS)
    grades = pd.read_csv(out / "reports" / ASSIGNMENT / "grades.csv").set_index("student")
    assert grades.loc["student-01-reference", "score"] == 6
    # The disguised copy still earns every point; the summary names the pair who shared answers.
    assert grades.loc["student-08-copied-variant", "score"] == 6
    assert "shared answers: student-07-own-variant and student-08-copied-variant (" in text
    assert grades.loc["student-06-endless-loop", "status"] == "timeout"
    # A second run replaces its own earlier demo but never a folder it did not make.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    with pytest.raises(CourseError, match="not an earlier demo"):
        demo(tmp_path / "mine", bundled=_bundled(tmp_path / "x", True))


def test_demo_without_chapters_fails_clearly(tmp_path):
    with pytest.raises(CourseError, match="no chapters"):
        demo(tmp_path / "demo", bundled=_bundled(tmp_path, False))


def test_the_formgrader_finds_the_course_exchange(tmp_path):
    """nbgrader's API behind the formgrader warns on every page when the exchange folder is missing."""
    from nbgrader.apps.api import NbGraderAPI

    from autograde.course_dir import course_directory, load_config

    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    config = load_config(tmp_path)
    api = NbGraderAPI(course_directory(tmp_path, config=config), config=config)
    assert not api.exchange_missing and api.exchange_root == str(tmp_path / "exchange")
