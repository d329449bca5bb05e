"""One student's grade written whole or not at all (quick: a real nbgrader Gradebook on a temporary sqlite
file and real folders, no kernels)."""
from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograde.grading.transaction import GradeSnapshot, StudentTransaction, is_pending, staging_folder
from tests.support.grading_course import ASSIGNMENT

COURSE, A = "grading-tests", ASSIGNMENT  # the generated mini course's gradebook: notebook mini, 3 graded cells


@pytest.fixture(scope="module")
def template(generated_mini, tmp_path_factory) -> Path:
    """The mini course's gradebook with students al and bo; al has a graded submission (made once per module)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    shutil.copy(generated_mini / "gradebook.db", path)
    with Gradebook(f"sqlite:///{path}", COURSE) as gb:
        for student in ("al", "bo"):
            gb.add_student(student)
        gb.add_submission(A, "al", timestamp=datetime.datetime(2026, 12, 1, 10))
        set_scores(gb, "al", 1.0, "first comment")
    return path


@pytest.fixture
def url(template, tmp_path) -> str:
    shutil.copy(template, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def set_scores(gb: Gradebook, student: str, score: float, comment: str | None) -> None:
    submission = gb.find_submission(A, student)
    for notebook in submission.notebooks:
        notebook.late_submission_penalty = score / 10
        for grade in notebook.grades:
            grade.auto_score, grade.needs_manual_grade = score, False
        for remark in notebook.comments:
            remark.auto_comment = comment
    gb.db.commit()


def scores(url: str, student: str) -> dict | None:
    """The student's (auto_score, needs_manual) per cell and their comments, or None without a submission."""
    with Gradebook(url, COURSE) as gb:
        try:
            submission = gb.find_submission(A, student)
        except MissingEntry:
            return None
        return {(nb.name, g.name): (g.auto_score, g.needs_manual_grade) for nb in submission.notebooks for g in nb.grades} | {
            (nb.name, c.name): c.auto_comment for nb in submission.notebooks for c in nb.comments} | {
            (nb.name, "penalty"): nb.late_submission_penalty for nb in submission.notebooks}


def graded(tmp_path: Path, student: str, files: dict[str, str]) -> Path:
    """``autograded/<student>/a1`` holding ``files``."""
    dest = tmp_path / "autograded" / student / A
    dest.mkdir(parents=True)
    for name, text in files.items():
        (dest / name).write_text(text)
    return dest


@pytest.mark.parametrize("graded_folder, staging, pending", [
    (False, False, True),  # never graded
    (True, False, False),  # graded
    (True, True, True),  # a run stopped half-way, or a grade that needs fixing
    (False, True, True),  # killed before the first rename
])
def test_is_pending(tmp_path, graded_folder, staging, pending):
    dest = tmp_path / "autograded" / "al" / A
    if graded_folder:
        dest.mkdir(parents=True)
    if staging:
        staging_folder(dest).mkdir(parents=True)
    assert staging_folder(dest) == tmp_path / "autograded" / "al" / f".{A}.grading"
    assert is_pending(dest) is pending


@pytest.mark.parametrize("still_pending", [False, True])
def test_commit_replaces_the_old_grade_whole(url, tmp_path, still_pending):
    dest = graded(tmp_path, "al", {"n1.ipynb": "old", "old-only.txt": "gone after commit"})
    (dest.parent / f".{A}.replaced").mkdir()  # left by a run killed between the two renames
    transaction = StudentTransaction(url, COURSE, A, "al", dest)
    transaction.begin()
    assert is_pending(dest) and not (dest.parent / f".{A}.replaced").exists()
    assert transaction.before.grades[(A, "test_square")] == (1.0, False)
    (transaction.staging / "n1.ipynb").write_text("new")
    transaction.commit(still_pending=still_pending)
    assert sorted(p.name for p in dest.iterdir()) == ["n1.ipynb"] and (dest / "n1.ipynb").read_text() == "new"
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted([A] + ([f".{A}.grading"] if still_pending else []))
    assert is_pending(dest) is still_pending


@pytest.mark.parametrize("student, expected_kept", [
    ("al", "the previous grade is kept"),
    ("bo", "nothing was recorded"),
])
def test_abort_puts_the_old_scores_back(url, tmp_path, student, expected_kept):
    before = scores(url, student)
    dest = tmp_path / "autograded" / student / A
    transaction = StudentTransaction(url, COURSE, A, student, dest)
    transaction.begin()
    with Gradebook(url, COURSE) as gb:  # nbgrader writes half of a new grade
        if student == "bo":
            gb.add_submission(A, "bo")
        set_scores(gb, student, 2.0, "half-written")
    (transaction.staging / "n1.ipynb").write_text("half")
    assert transaction.abort() == expected_kept
    assert scores(url, student) == before
    assert is_pending(dest) and list(transaction.staging.iterdir()) == []


def test_abort_says_when_the_gradebook_cannot_be_put_back(url, tmp_path):
    transaction = StudentTransaction(url, COURSE, A, "al", tmp_path / "autograded" / "al" / A)
    transaction.begin()
    transaction.db_url = f"sqlite:///{tmp_path / 'no-such-folder' / 'gradebook.db'}"
    kept = transaction.abort()
    assert kept.startswith("the gradebook could not be put back either (OperationalError")
    assert transaction.staging.is_dir()


def test_discard_leaves_no_trace(url, tmp_path):
    dest = tmp_path / "autograded" / "bo" / A
    transaction = StudentTransaction(url, COURSE, A, "bo", dest)
    transaction.begin()
    assert transaction.before is None  # no submission yet
    transaction.discard()
    assert not (tmp_path / "autograded" / "bo").exists()


def test_a_snapshot_restores_what_it_read(url, tmp_path):
    original = scores(url, "al")
    with Gradebook(url, COURSE) as gb:
        snapshot = GradeSnapshot.read(gb, A, "al")
        assert GradeSnapshot.read(gb, A, "bo") is None
        set_scores(gb, "al", 0.0, None)
        gb.find_submission(A, "al").timestamp = None
        gb.db.commit()
        assert scores(url, "al") != original
        snapshot.restore(gb, A, "al")
        assert gb.find_submission(A, "al").timestamp == datetime.datetime(2026, 12, 1, 10)
    assert scores(url, "al") == original
    assert repr(snapshot) == "GradeSnapshot(3 grades, timestamp=2026-12-01 10:00:00)"
