"""What students and TAs read, in a real Chromium with no internet: feedback (both tools), report, similarity.

One graded class of the `written` fixture (formulas, a written answer that waits for a grader, a visible
and a hidden test, outputs wider than the window): a reference, a wrong answer a visible test catches
and one only a hidden test catches. Every page must typeset its formulas from this machine, make no
request off it (each is refused and counted), say which answers await a grader and fit a 1280 px window.
Screenshots go to $COURSE_ARTIFACTS (default tests/artifacts/).
"""
from __future__ import annotations

import os
import shutil
import sys

import nbformat
import pytest

from autograde import pdf
from autograde.cli import dispatch, main
from autograde.demo_class import write_submission
from autograde.errors import CourseError
from tests.support.browser import ARTIFACTS, jupyter_server, offline_page, read_page
from tests.support.grading_course import add_class, make_course, nbgrader
from tests.support.requirements import requires

pytestmark = [
    pytest.mark.slow,
    requires(any(shutil.which(name) for name in pdf.CHROMIUM_NAMES), "no Chromium on PATH (apt-get install chromium)"),
]
ASSIGNMENT = "written"
WINDOW = 1280
VISIBLE_MESSAGE = "double(2) should be 4"  # the visible test's assert message
HIDDEN = ["secret hidden message", "hidden output of double", "double(-1)"]  # only in the hidden tests
WRONG = {"student-02-wrong-visible": "return x + 3", "student-03-wrong-hidden": "return abs(x) * 2"}


@pytest.fixture(scope="module")
def written_class(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("pages") / "course", ASSIGNMENT)
    add_class(course, ["reference"], ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for student, body in WRONG.items():
        nb = nbformat.from_dict(source)
        answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "double")
        answer.source = f"def double(x):\n    {body}"
        write_submission(course, ASSIGNMENT, student, {ASSIGNMENT: nb})
    main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2"])  # 1: two raised, as intended
    return course


def _pages(course, tool: str) -> dict[str, str]:
    """Student -> feedback page path, written by ``tool``."""
    shutil.rmtree(course / "feedback", ignore_errors=True)
    if tool == "course feedback":
        assert main(["--course", str(course), "feedback", ASSIGNMENT]) == 0
    else:
        nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    return {p.parent.parent.name: p for p in sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))}


@pytest.mark.parametrize("tool", ["course feedback", "nbgrader generate_feedback"])
def test_feedback_pages_typeset_offline_say_pending_and_fit(written_class, tool, capfd):
    pages = _pages(written_class, tool)
    assert len(pages) == 3
    if tool == "course feedback":  # the instructor is warned before sending pages out
        assert "3 answer(s) await a grader" in capfd.readouterr().err
    with offline_page(WINDOW) as (page, outside):
        for student, path in pages.items():
            shot = ARTIFACTS / f"feedback-{tool.split()[0]}-{student}.png"
            facts = read_page(page, path.as_uri(), shot)
            assert facts["typeset"] > 0 and not facts["raw_tex"] and facts["errors"] == 0, (student, facts["typeset"])
            assert "awaiting a grader" in facts["text"] and "points graded so far" in facts["text"], student
            assert facts["width"] <= WINDOW, f"{student}: page {facts['width']} px wide in a {WINDOW} px window"
    assert outside == [], outside


def test_feedback_shows_a_visible_failure_but_nothing_hidden(written_class):
    pages = _pages(written_class, "course feedback")
    visible = pages["student-02-wrong-visible"].read_text()
    hidden = pages["student-03-wrong-hidden"].read_text()
    assert f"AssertionError: {VISIBLE_MESSAGE}" in visible and "a visible test failed" in visible
    assert "a test in this cell failed" in hidden and f"AssertionError: {VISIBLE_MESSAGE}" not in hidden
    for text in (visible, hidden, pages["student-01-reference"].read_text()):
        assert not any(secret in text for secret in HIDDEN)


def test_report_and_similarity_pages_offline_and_fit(written_class):
    assert main(["--course", str(written_class), "report", ASSIGNMENT]) == 0
    main(["--course", str(written_class), "similarity", ASSIGNMENT, "--threshold", "0.01"])
    reports = written_class / "reports" / ASSIGNMENT
    with offline_page(WINDOW) as (page, outside):
        report = read_page(page, (reports / "report.html").as_uri(), ARTIFACTS / "report.png")
        similar = read_page(page, (reports / "similarity" / "report.html").as_uri(), ARTIFACTS / "similarity.png")
    assert outside == [], outside
    assert report["width"] <= WINDOW and similar["width"] <= WINDOW, (report["width"], similar["width"])
    assert "awaiting a grader" in report["text"] and "points graded so far" in report["text"]
    assert "wrong answer: 1 test(s) failed (test_double)" in report["text"] and "(cell " not in report["text"]
    assert "3 students, 3 of them graded" in report["text"]


def test_formgrader_submission_pages_typeset_offline_and_fit(written_class, tmp_path):
    """nbgrader's formgrader, as a TA opens it: MathJax from the server's jupyter-server-mathjax copy."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{written_class / 'gradebook.db'}") as gradebook:
        ids = {s: gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).id for s in WRONG}
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    command = [sys.executable, "-m", "jupyter", "server", "--no-browser"]
    with jupyter_server(command, written_class, tmp_path, env) as (base, token), offline_page(WINDOW) as (page, outside):
        page.set_extra_http_headers({"Authorization": f"token {token}"})  # a TA logged in (the page's API calls too)
        for student, submission in ids.items():
            url = f"{base}/formgrader/submissions/{submission}/"
            # The written answer awaits a grader: the formgrader marks its score box (nbgrader's needs_manual_grade).
            facts = read_page(page, url, ARTIFACTS / f"formgrader-{student}.png", ready="input#why.needs_manual_grade")
            assert facts["typeset"] > 0 and not facts["raw_tex"] and facts["errors"] == 0, (student, facts["typeset"])
            assert facts["width"] <= WINDOW, f"{student}: formgrader page {facts['width']} px wide"
    assert outside == [], outside


def test_course_feedback_refuses_while_answers_wait_when_the_course_says_so(written_class):
    config = written_class / "nbgrader_config.py"
    original = config.read_text()
    config.write_text(original + "\nc.CourseFeedback.refuse_while_pending = True\n")
    shutil.rmtree(written_class / "feedback", ignore_errors=True)
    try:
        with pytest.raises(CourseError, match=r"3 answer\(s\) await a grader .*refuse_while_pending"):
            dispatch(["--course", str(written_class), "feedback", ASSIGNMENT])
    finally:
        config.write_text(original)
    assert not (written_class / "feedback").exists()  # nothing half-written
