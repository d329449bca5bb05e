"""Check a chapter's autograde scores: full marks for the solution, none for the blank student
version, and each wrong answer losing exactly its own task's points (used by tests/test_chapter_NN.py)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from tests.support.nbgrader_harness import autograded_total, grade_submissions, source_notebook


def answer(signature: str, body: str) -> str:
    """The source of an answer cell that defines ``def signature:`` with ``body`` (a wrong answer in a test)."""
    return f"def {signature}:\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


def grade_chapter(tmp_path: Path, assignment: str, tests_of: dict[str, str],
                  wrong: dict[str, dict[str, str]], env: dict | None = None,
                  right: dict[str, dict[str, str]] | None = None) -> dict:
    """Autograde the solution, the student version, the ``wrong`` and the ``right`` submissions in one nbgrader run.

    ``tests_of`` maps each answer cell's grade_id to the grade_id of the test cell that checks it;
    ``wrong`` maps a student name to {answer grade_id: wrong source}, ``right`` to {answer grade_id: another
    correct source} that must keep every point. Returns the scores.
    """
    right = right or {}
    submissions = {"solution": "solution", "student": "student", **wrong, **right}
    scores = grade_submissions(tmp_path, assignment, submissions, env)
    assert set(scores["solution"]) == set(tests_of.values()), (
        f"the notebook's graded cells {sorted(scores['solution'])} differ from the test's {sorted(tests_of.values())}")
    score, maximum = autograded_total(scores["solution"])
    assert maximum > 0 and score == maximum, f"reference solution got {scores['solution']}"
    assert autograded_total(scores["student"])[0] == 0, f"blank student version got {scores['student']}"
    for student, answers in {**wrong, **{name: {} for name in right}}.items():
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
