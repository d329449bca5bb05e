"""course grade's trusted bookkeeping on a class with nothing a kernel must run (quick: the generated mini
course, nbgrader's gradebook and folders; no kernel starts because no notebook can be run)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograde.grading.grade import grade
from autograde.grading.records import journal_folder, read_records, results_path
from autograde.grading.score import cell_scores
from autograde.grading.status import Status
from autograde.grading.transaction import is_pending
from tests.support.grading_course import ASSIGNMENT

FOREIGN = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    "x = 1", metadata={"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                                    "grade_id": "someone-elses", "schema_version": 3}})]))
CLASS = {  # student -> their submission folder's files
    "s1-zero-bytes": {"mini.ipynb": ""},
    "s2-empty": {},
    "s3-bad-timestamp": {"mini.ipynb": "{}", "timestamp.txt": "last tuesday"},
    "s4-foreign": {"mini.ipynb": FOREIGN},
    "s5-wrong-name": {"notes.ipynb": FOREIGN},
}
EXPECTED = {
    "s1-zero-bytes/mini": (Status.FAILED, "could not prepare the notebook: the notebook file is empty (0 bytes)"),
    "s2-empty": (Status.EMPTY, "holds no notebook"),
    "s3-bad-timestamp": (Status.UNUSABLE, "holds 'last tuesday', not a date nbgrader can read"),
    "s4-foreign/mini": (Status.FAILED, "could not prepare the notebook: this file holds the cells of an unknown notebook"),
    "s5-wrong-name": (Status.EMPTY, "holds only notes.ipynb; mini expects mini.ipynb"),
}


@pytest.fixture
def course(mini_course) -> Path:
    for student, files in CLASS.items():
        folder = mini_course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    return mini_course


def test_what_cannot_run_is_recorded_scored_0_and_graded_again(course):
    summary = grade(course, ASSIGNMENT, workers=1, progress=False)
    assert {r.label: r.status for r in summary.records} == {label: status for label, (status, _) in EXPECTED.items()}
    for record in summary.records:
        assert EXPECTED[record.label][1] in record.reason, record
    assert {r.label for r in summary.attention} == set(EXPECTED)
    assert summary.line().startswith(f"graded 2 submission(s) of {ASSIGNMENT} (2 notebooks) in ")

    results = read_records(course, ASSIGNMENT)  # written once per student, compacted at the end of the run
    assert not journal_folder(course, ASSIGNMENT).exists()
    assert [(r["student"], r["notebook"], r["status"]) for r in results] == sorted(
        (r.student, r.notebook, str(r.status)) for r in summary.records)
    assert results_path(course, ASSIGNMENT).exists()

    scores = cell_scores(f"sqlite:///{course / 'gradebook.db'}", "grading-tests", ASSIGNMENT)
    assert {r["student"] for r in scores} == {"s1-zero-bytes", "s4-foreign"}  # nothing recorded for the others
    assert all(r["auto_score"] == 0 and not r["needs_manual_grade"] for r in scores)
    graded = course / "autograded" / "s1-zero-bytes" / ASSIGNMENT
    assert "Not graded: could not prepare the notebook" in (graded / "mini.ipynb").read_text()
    assert is_pending(graded)  # a failed notebook keeps its student pending: fixed, it is graded again
    assert not (course / "autograded" / "s2-empty").exists()

    again = grade(course, ASSIGNMENT, workers=1, progress=False)
    assert again.skipped == [] and sorted(r.label for r in again.records) == sorted(EXPECTED)
    assert [(r["student"], r["notebook"], r["status"]) for r in read_records(course, ASSIGNMENT)] == [
        (r["student"], r["notebook"], r["status"]) for r in results]  # replaced, not added to
