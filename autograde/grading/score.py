"""The trusted last step: nbgrader's scoring of an executed notebook, written to the gradebook here only.

``score_notebook`` runs ``c.Autograde.autograde_preprocessors`` without ``Execute`` (the execution
already happened elsewhere): IgnorePattern, ClearMetadata, LimitOutput, SaveAutoGrades,
AssignLatePenalties, CheckCellMetadata by default. So the gradebook, the autograded notebooks, and
everything built on them (``nbgrader export``, ``generate_feedback``, the formgrader) are nbgrader's own.
"""
from __future__ import annotations

import nbformat
from nbgrader.api import Gradebook

from autograde.grading.execute import ExecutionResult
from autograde.grading.nbgrader_adapter import NbgraderAutograde


def score_notebook(autograde: NbgraderAutograde, assignment: str, student: str, notebook: str,
                   result: ExecutionResult) -> None:
    """Score ``result`` with nbgrader's pipeline; writes the autograded notebook and the gradebook rows."""
    autograde.score(nbformat.reads(result.notebook_json, as_version=4), assignment, student, notebook)


def record_zero(db_url: str, course_id: str, assignment: str, student: str, notebook: str) -> None:
    """0 for every autograded cell of a notebook that could not be prepared (as nbgrader does for a missing one)."""
    with Gradebook(db_url, course_id) as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        for grade in submission.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def awaits_grader(grade) -> bool:
    """Whether an nbgrader ``Grade`` waits for a grader, as the formgrader shows it: flagged for grading by
    hand (``needs_manual_grade``; also a score kept from an older hand-in, to review), or scored by nobody.
    The one rule for the feedback pages, the report, ``grades.csv`` and the LMS export."""
    return bool(grade.needs_manual_grade) or (grade.auto_score is None and grade.manual_score is None)


def cell_scores(db_url: str, course_id: str, assignment: str) -> list[dict]:
    """Every grade in the gradebook for ``assignment``: student, notebook, cell, score, max_score, pending."""
    rows = []
    with Gradebook(db_url, course_id) as gb:
        for submission in gb.assignment_submissions(assignment):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    rows.append({
                        "student": submission.student_id, "notebook": nb.name, "cell": grade.name,
                        "score": grade.score, "auto_score": grade.auto_score, "max_score": grade.max_score,
                        "needs_manual_grade": grade.needs_manual_grade, "pending": awaits_grader(grade),
                    })
    return sorted(rows, key=lambda r: (r["student"], r["notebook"], r["cell"]))


def student_totals(db_url: str, course_id: str, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """One student's (score so far, max score) per notebook; cells awaiting a manual grade count 0 so far."""
    totals: dict[str, tuple[float, float]] = {}
    with Gradebook(db_url, course_id) as gb:
        for nb in gb.find_submission(assignment, student).notebooks:
            totals[nb.name] = (sum(g.score or 0.0 for g in nb.grades), sum(g.max_score for g in nb.grades))
    return totals
