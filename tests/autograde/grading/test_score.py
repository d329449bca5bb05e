"""nbgrader's scoring of an executed notebook, written to the gradebook in the trusted process (quick: the
notebook's outputs are written here as a kernel would have left them; no kernel runs)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Grade

from autograde.cells import error_output
from autograde.course_dir import course_directory, in_course, load_config
from autograde.demo_class import reference
from autograde.grading.execute import ExecutionResult
from autograde.grading.prepare import Reference, make_autograder, notebook_owners, prepare_submission
from autograde.grading.score import awaits_grader, cell_scores, record_zero, score_notebook, student_totals
from autograde.grading.status import Outcome
from tests.support.grading_course import ASSIGNMENT

STUDENTS = ["al", "bo"]
POINTS = {"test_square": 2, "test_mean": 3, "test_count_words": 1}


def executed(job_json: str, failing: set[str]) -> str:
    """The sanitised notebook as a kernel leaves it: the ``failing`` test cells with an AssertionError."""
    nb = nbformat.reads(job_json, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1
            if cell.metadata.nbgrader.get("grade_id") in failing:
                cell.outputs = [error_output("AssertionError", "wrong")]
    return nbformat.writes(nb)


def grade(course: Path, failing: dict[str, set[str] | None], staged: bool = True) -> tuple[str, str]:
    """Prepare each student's reference submission and score it with ``failing[student]`` failing (None: prepared,
    never scored, as a notebook that could not run); (db_url, course_id)."""
    config = load_config(course)
    with in_course(course):
        coursedir = course_directory(course, ASSIGNMENT, config)
        autograde = make_autograder(coursedir, config)
        ref = Reference.load(autograde, ASSIGNMENT, [ASSIGNMENT], notebook_owners(coursedir))
        for student in STUDENTS:
            folder = course / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(reference(ref.source[ASSIGNMENT], ref.release[ASSIGNMENT]), folder / f"{ASSIGNMENT}.ipynb")
            staging = course / "autograded" / student / f".{ASSIGNMENT}.grading"
            autograde.stage(ASSIGNMENT, student, staging if staged else None)
            job = prepare_submission(autograde, ref, student).jobs[0]
            if failing[student] is None:
                continue
            result = ExecutionResult(executed(job.notebook_json, failing[student]), Outcome.FINISHED, "", 0.1)
            score_notebook(autograde, ASSIGNMENT, student, ASSIGNMENT, result)
            written = (staging if staged else course / "autograded" / student / ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
            assert written.exists(), written
        return coursedir.db_url, coursedir.course_id


@pytest.mark.parametrize("failing", [
    set(), {"test_square"}, {"test_mean", "test_count_words"}, set(POINTS),
])
def test_scores_are_nbgraders_from_the_outputs(mini_course, failing):
    db_url, course_id = grade(mini_course, {"al": failing, "bo": set()})
    rows = cell_scores(db_url, course_id, ASSIGNMENT)
    assert [(r["student"], r["cell"]) for r in rows] == [(s, c) for s in STUDENTS for c in sorted(POINTS)]
    got = {(r["student"], r["cell"]): (r["auto_score"], r["max_score"], r["needs_manual_grade"]) for r in rows}
    for cell, points in POINTS.items():
        assert got[("al", cell)] == (0 if cell in failing else points, points, False)
        assert got[("bo", cell)] == (points, points, False)
    expected = sum(p for c, p in POINTS.items() if c not in failing)
    assert student_totals(db_url, course_id, ASSIGNMENT, "al") == {ASSIGNMENT: (expected, sum(POINTS.values()))}


def test_record_zero_scores_every_cell_of_the_notebook_0(mini_course):
    db_url, course_id = grade(mini_course, {"al": None, "bo": set()}, staged=False)
    unscored = [(r["auto_score"], r["needs_manual_grade"]) for r in cell_scores(db_url, course_id, ASSIGNMENT) if r["student"] == "al"]
    assert unscored == [(None, True)] * 3  # what nbgrader leaves until a notebook is scored
    record_zero(db_url, course_id, ASSIGNMENT, "al", ASSIGNMENT)
    assert student_totals(db_url, course_id, ASSIGNMENT, "al") == {ASSIGNMENT: (0, 6)}
    assert student_totals(db_url, course_id, ASSIGNMENT, "bo") == {ASSIGNMENT: (6, 6)}
    assert all(not r["needs_manual_grade"] for r in cell_scores(db_url, course_id, ASSIGNMENT))


@pytest.mark.parametrize("auto, manual, flagged, waits", [
    (None, None, True, True),    # a written answer nobody graded yet
    (None, 1.0, False, False),   # graded in the formgrader
    (None, 1.0, True, True),     # a score kept from an older hand-in, flagged for review: not final
    (0.0, None, False, False),   # a test cell the autograder scored
    (2.0, None, True, True),     # the autograder's score, flagged for a look by hand
])
def test_one_rule_says_what_awaits_a_grader(auto, manual, flagged, waits):
    """Feedback, report, grades.csv and the LMS export all ask awaits_grader, so they never disagree."""
    grade = Grade(auto_score=auto, manual_score=manual, needs_manual_grade=flagged)
    assert awaits_grader(grade) is waits
