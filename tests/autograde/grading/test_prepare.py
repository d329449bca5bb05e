"""nbgrader's sanitising of a submission, in the trusted process (quick: a generated course and nbgrader's
preprocessors, no kernels)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograde.course_dir import course_directory, in_course, load_config
from autograde.demo_class import reference
from autograde.grading.prepare import Reference, Unusable, make_autograder, notebook_owners, prepare_submission
from autograde.grading.status import Status
from tests.support.grading_course import ASSIGNMENT

STUDENT = "student-01"


def notebooks(course: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return source, release


def answered(course: Path) -> str:
    return nbformat.writes(reference(*notebooks(course)))


def edited_lock(course: Path) -> str:
    nb = reference(*notebooks(course))
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square").source = "pass"
    return nbformat.writes(nb)


def foreign(course: Path) -> str:
    nb = reference(*notebooks(course))
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader["grade_id"] = "other-" + cell.metadata.nbgrader["grade_id"]
    return nbformat.writes(nb)


# A submission folder: file name -> its text (a function of the course), or a str.
SUBMISSIONS = {
    "answered": {"mini.ipynb": answered, "data.csv": "a,b\n1,2\n"},
    "zero bytes": {"mini.ipynb": ""},
    "edited lock": {"mini.ipynb": edited_lock},
    "foreign": {"mini.ipynb": foreign},
    "with an extra notebook": {"mini.ipynb": answered, "scratch.ipynb": answered},
}


def submit(course: Path, files: dict) -> Path:
    folder = course / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text(course) if callable(text) else text)
    return folder


def prepare(course: Path, owners: dict[str, str] | None = None):
    """prepare_submission as course grade runs it, and what it left in the student's graded folder."""
    with in_course(course):
        coursedir = course_directory(course, ASSIGNMENT, load_config(course))
        autograde = make_autograder(coursedir, load_config(course))
        ref = Reference.load(autograde, ASSIGNMENT, [ASSIGNMENT], notebook_owners(coursedir) if owners is None else owners)
        return prepare_submission(autograde, ref, STUDENT), ref


@pytest.mark.parametrize("kind, jobs, failure, ignored, notes", [
    ("answered", 1, "", [], []),
    ("zero bytes", 0, "could not prepare the notebook: the notebook file is empty (0 bytes)", [], []),
    ("edited lock", 1, "", [], ["locked cell 'test_square' was edited; restored from the release"]),
    ("foreign", 0, "could not prepare the notebook: this file holds the cells of an unknown notebook", [], []),
    ("with an extra notebook", 1, "", ["scratch.ipynb is not part of mini (expected mini.ipynb); it was not graded"], []),
])
def test_a_submission_becomes_jobs_failures_and_ignored_notebooks(mini_course, kind, jobs, failure, ignored, notes):
    submit(mini_course, SUBMISSIONS[kind])
    submission, _ = prepare(mini_course)
    assert len(submission.jobs) == jobs and submission.missing == []
    assert [f.reason[:len(failure)] for f in submission.failures] == ([failure] if failure else [])
    assert [f.reason[:len(i)] for f, i in zip(submission.ignored, ignored)] == ignored
    assert len(submission.ignored) == len(ignored)
    for job in submission.jobs:
        assert job.key == (STUDENT, ASSIGNMENT) and job.notes == notes
        assert job.answer_names == frozenset({"square", "mean", "count_words"})
        cells = nbformat.reads(job.notebook_json, as_version=4).cells
        assert all(not c.get("outputs") for c in cells if c.cell_type == "code")  # nbgrader's ClearOutput ran
        locked = next(c for c in cells if c.metadata.nbgrader.get("grade_id") == "test_square")
        assert locked.source.startswith("assert square(3) == 9")  # restored, hidden tests included
    with Gradebook(f"sqlite:///{mini_course / 'gradebook.db'}", "grading-tests") as gb:  # nbgrader's rows, as autograde makes them
        assert [nb.name for nb in gb.find_submission(ASSIGNMENT, STUDENT).notebooks] == [ASSIGNMENT]


def test_data_files_of_the_submission_travel_with_the_job(mini_course):
    submit(mini_course, SUBMISSIONS["answered"])
    submission, _ = prepare(mini_course)
    assert submission.jobs[0].files == {"data.csv": b"a,b\n1,2\n"}  # notebooks are not extra files


@pytest.mark.parametrize("files, status, says", [
    ({}, Status.EMPTY, "holds no notebook; mini expects mini.ipynb"),
    ({"notes.ipynb": "{}"}, Status.EMPTY, "holds only notes.ipynb; mini expects mini.ipynb"),
    ({"mini.ipynb": answered, "timestamp.txt": "yesterday"}, Status.UNUSABLE, "holds 'yesterday', not a date nbgrader can read"),
])
def test_a_folder_with_nothing_to_grade_is_refused_before_anything_is_written(mini_course, files, status, says):
    submit(mini_course, files)
    with pytest.raises(Unusable) as refused:
        prepare(mini_course)
    assert refused.value.status == status and says in str(refused.value)
    assert not (mini_course / "autograded").exists()


def test_a_notebook_of_another_assignment_is_named(mini_course):
    submit(mini_course, {"mini.ipynb": answered, "lesson2.ipynb": answered})
    submission, _ = prepare(mini_course, owners={"lesson2": "week2/lesson2"})
    assert submission.ignored[0].reason.startswith("lesson2.ipynb is a notebook of assignment week2, not of mini")
    assert f"move it to submitted/{STUDENT}/week2/" in submission.ignored[0].reason


def test_the_reference_knows_the_instructors_notebooks(generated_mini):
    with in_course(generated_mini):
        coursedir = course_directory(generated_mini, ASSIGNMENT, load_config(generated_mini))
        owners = notebook_owners(coursedir)
        ref = Reference.load(make_autograder(coursedir, load_config(generated_mini)), ASSIGNMENT, [ASSIGNMENT, "gone"], owners)
    assert owners["mini"] == "mini/mini" and owners["cell:test_square"] == "mini/mini"
    assert sorted(ref.release) == sorted(ref.source) == ["mini"]  # "gone" has no notebook: left out
    assert ref.imports() == {"math"}
    assert ref.answer_names("gone") == frozenset()
    assert ref.answer_names("mini") == frozenset({"count_words", "mean", "square"})
