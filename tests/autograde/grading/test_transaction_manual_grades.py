"""A student's transaction keeps the written-answer grades a TA saves while that student is being graded."""
from __future__ import annotations

from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import OperationalError

from autograde.grading.transaction import StudentTransaction

COURSE, ASSIGNMENT, NOTEBOOK, STUDENT = "course", "ps1", "ps1", "alice"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A gradebook (nbgrader's API, SQLite) with one autograded test cell and one written answer."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, COURSE) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        gb.add_grade_cell("test", NOTEBOOK, ASSIGNMENT, max_score=3, cell_type="code")
        gb.add_grade_cell("written", NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="markdown")
        gb.add_solution_cell("written", NOTEBOOK, ASSIGNMENT)
        gb.add_student(STUDENT)
    return url


def transaction(db_url: str, tmp_path: Path) -> StudentTransaction:
    return StudentTransaction(db_url, COURSE, ASSIGNMENT, STUDENT, tmp_path / "autograded" / STUDENT / ASSIGNMENT)


def set_grade(db_url: str, cell: str, **values) -> None:
    with Gradebook(db_url, COURSE) as gb:
        grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, STUDENT)
        for name, value in values.items():
            setattr(grade, name, value)
        gb.db.commit()


def grade_of(db_url: str, cell: str) -> tuple:
    with Gradebook(db_url, COURSE) as gb:
        grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, STUDENT)
        return grade.auto_score, grade.manual_score, grade.needs_manual_grade


def score_as_nbgrader_does(db_url: str) -> None:
    """nbgrader's SaveAutoGrades: a cell with a manual score, or no automatic one, is flagged for review."""
    set_grade(db_url, "test", auto_score=3.0, needs_manual_grade=False)
    set_grade(db_url, "written", needs_manual_grade=True)


def test_a_grade_given_during_grading_counts_as_graded(db_url, tmp_path):
    with Gradebook(db_url, COURSE) as gb:
        gb.add_submission(ASSIGNMENT, STUDENT)
    set_grade(db_url, "written", manual_score=1.0, needs_manual_grade=False)  # graded before this run
    student = transaction(db_url, tmp_path)
    student.begin()
    score_as_nbgrader_does(db_url)
    student.commit()
    assert grade_of(db_url, "written") == (None, 1.0, True)  # an old grade of an older hand-in: review it

    student.begin()
    set_grade(db_url, "written", manual_score=2.0, needs_manual_grade=False)  # the TA, during this run
    score_as_nbgrader_does(db_url)
    student.commit()
    assert grade_of(db_url, "written") == (None, 2.0, False)
    assert grade_of(db_url, "test") == (3.0, None, False)


def test_an_aborted_first_grading_keeps_the_ta_grade_and_nothing_else(db_url, tmp_path):
    student = transaction(db_url, tmp_path)
    student.begin()
    with Gradebook(db_url, COURSE) as gb:
        gb.add_submission(ASSIGNMENT, STUDENT)  # nbgrader's init_assignment
    set_grade(db_url, "written", manual_score=1.5, needs_manual_grade=False)
    score_as_nbgrader_does(db_url)
    assert "manual grades entered meanwhile are kept" in student.abort()
    assert grade_of(db_url, "written") == (None, 1.5, False)
    assert grade_of(db_url, "test") == (None, None, True)  # no half-made autograde
    assert student.staging.is_dir()  # still pending: the next run grades the notebook


def test_an_aborted_first_grading_without_a_ta_leaves_no_submission(db_url, tmp_path):
    student = transaction(db_url, tmp_path)
    student.begin()
    with Gradebook(db_url, COURSE) as gb:
        gb.add_submission(ASSIGNMENT, STUDENT)
    score_as_nbgrader_does(db_url)
    assert student.abort() == "nothing was recorded"
    with Gradebook(db_url, COURSE) as gb, pytest.raises(MissingEntry):
        gb.find_submission(ASSIGNMENT, STUDENT)


def test_a_grading_that_could_not_even_read_the_gradebook_changes_nothing(tmp_path):
    student = transaction(f"sqlite:///{tmp_path / 'no such folder' / 'gradebook.db'}", tmp_path)
    with pytest.raises(OperationalError, match="unable to open database file"):
        student.begin()
    assert not student.staging.exists()
    assert student.abort().startswith("nothing was changed")
    assert student.staging.is_dir()  # pending: the next run grades the student
