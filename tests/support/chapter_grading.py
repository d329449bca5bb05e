"""Check a chapter: ``course check`` of its notebook (full marks for the solution, none for the blank student
version, every mutant of its answers caught), then real ``nbgrader autograde`` of wrong answers, each losing
exactly its own task's points, and of other right answers, keeping every point (used by tests/test_chapter_NN.py).

CI runs the quality gate here, one chapter per test, instead of a whole-course ``course check`` after pytest:
the solution and the student version then run once, not twice.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from autograde.check.gate import CheckSettings, check_assignments
from autograde.check.verdicts import NotebookCheck
from tests.support.nbgrader_harness import grade_submissions, source_notebook
from tests.support.paths import REPO


def answer(signature: str, body: str) -> str:
    """The source of an answer cell that defines ``def signature:`` with ``body`` (a wrong answer in a test)."""
    return f"def {signature}:\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


def check_chapter(assignment: str) -> NotebookCheck:
    """``course check`` of one chapter along ``course grade``'s own path: no problem, every point for the
    solution, none for the blank student version, every mutant of its answers losing points."""
    [check] = check_assignments(REPO, [assignment], CheckSettings(workers=1, progress=False))
    assert check.ok, f"course check {assignment}:\n" + "\n".join(check.problems)
    assert check.max_score and check.solution_score == check.max_score, f"reference solution got {check.solution_score}"
    assert check.student_score == 0, f"blank student version got {check.student_score}"
    return check


def grade_chapter(tmp_path: Path, assignment: str, tests_of: dict[str, str],
                  wrong: dict[str, dict[str, str]], env: dict | None = None,
                  right: dict[str, dict[str, str]] | None = None) -> dict:
    """Check the chapter (:func:`check_chapter`), then autograde the ``wrong`` and ``right`` submissions in one
    nbgrader run.

    ``tests_of`` maps each answer cell's grade_id to the grade_id of the test cell that checks it;
    ``wrong`` maps a student name to {answer grade_id: wrong source}, ``right`` to {answer grade_id: another
    correct source} that must keep every point. Returns the scores.
    """
    check_chapter(assignment)
    right = right or {}
    scores = grade_submissions(tmp_path, assignment, {**wrong, **right}, env)
    for student, answers in {**wrong, **{name: {} for name in right}}.items():
        assert set(scores[student]) == set(tests_of.values()), (
            f"the notebook's graded cells {sorted(scores[student])} differ from the test's {sorted(tests_of.values())}")
        broken = {tests_of[answer] for answer in answers}
        for test, (got, most) in scores[student].items():
            expected = 0 if test in broken else most
            assert got == expected, (f"submission {student!r}: {test} scored {got}/{most}, expected {expected} "
                                     f"(wrong answers in {sorted(answers)})")
    return scores


def failure(tmp_path: Path, assignment: str, student: str, test_id: str) -> str:
    """The error that test cell ``test_id`` of ``student``'s autograded notebook ended with ("" if none)."""
    stem = source_notebook(assignment).stem
    notebook = nbformat.read(tmp_path / "course" / "autograded" / student / assignment / f"{stem}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == test_id)
    return "\n".join(f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                     if o.get("output_type") == "error")


def assert_refused(tmp_path: Path, assignment: str, student: str, refused: dict[str, str]) -> None:
    """Each test cell in ``refused`` failed with course.scratch's message for the library function named there."""
    for test_id, name in refused.items():
        error = failure(tmp_path, assignment, student, test_id)
        assert f"WriteItYourselfError: write it yourself: {name} " in error and "is not allowed in this task" in error, (
            f"{student}: {test_id} should fail because it calls {name}; its error was {error!r}")
