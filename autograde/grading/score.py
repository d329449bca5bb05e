"""The trusted last step: nbgrader's scoring of an executed notebook, written to the gradebook here only.

``score_notebook`` runs ``c.Autograde.autograde_preprocessors`` without ``Execute`` (the execution
already happened elsewhere): IgnorePattern, ClearMetadata, LimitOutput, SaveAutoGrades,
AssignLatePenalties, CheckCellMetadata by default. So the gradebook, the autograded notebooks, and
everything built on them (``nbgrader export``, ``generate_feedback``, the formgrader) are nbgrader's own.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from autograde.grading.execute import ExecutionResult, resolve_class


def _scoring_steps(converter: Autograde) -> list:
    """The configured autograde pipeline minus execution."""
    steps = []
    for step in converter.autograde_preprocessors:
        cls = resolve_class(step) if isinstance(step, str) else step
        if isinstance(cls, type) and issubclass(cls, Execute):
            continue
        steps.append(cls)
    return steps


def score_notebook(converter: Autograde, assignment: str, student: str, notebook: str, result: ExecutionResult) -> None:
    """Score ``result`` with nbgrader's pipeline; writes the autograded notebook and the gradebook rows."""
    converter._sanitizing = False
    converter.exporter._preprocessors = []
    for step in _scoring_steps(converter):
        converter.exporter.register_preprocessor(step)  # as nbgrader does: each step's own `enabled`
    # Resources name the student, assignment and notebook as nbgrader reads them from the submitted path;
    # the writer puts the graded notebook wherever the converter's destination is (a staging folder).
    submitted = Path(converter._format_source(assignment, student))
    resources = converter.init_single_notebook_resources(str(submitted / f"{notebook}.ipynb"))
    resources["metadata"] = {"name": notebook, "path": converter._format_dest(assignment, student)}
    executed = nbformat.reads(result.notebook, as_version=4)
    output, resources = converter.exporter.from_notebook_node(executed, resources=resources)
    converter.write_single_notebook(output, resources)


def record_zero(db_url: str, course_id: str, assignment: str, student: str, notebook: str) -> None:
    """0 for every autograded cell of a notebook that could not be prepared (as nbgrader does for a missing one)."""
    with Gradebook(db_url, course_id) as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        for grade in submission.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def cell_scores(db_url: str, course_id: str, assignment: str) -> list[dict]:
    """Every grade in the gradebook for ``assignment``: student, notebook, cell, score, max_score."""
    rows = []
    with Gradebook(db_url, course_id) as gb:
        for submission in gb.assignment_submissions(assignment):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    rows.append({
                        "student": submission.student_id, "notebook": nb.name, "cell": grade.name,
                        "score": grade.score, "auto_score": grade.auto_score, "max_score": grade.max_score,
                        "needs_manual_grade": grade.needs_manual_grade,
                    })
    return sorted(rows, key=lambda r: (r["student"], r["notebook"], r["cell"]))


def student_totals(db_url: str, course_id: str, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """One student's (score so far, max score) per notebook; cells awaiting a manual grade count 0 so far."""
    totals: dict[str, tuple[float, float]] = {}
    with Gradebook(db_url, course_id) as gb:
        for nb in gb.find_submission(assignment, student).notebooks:
            totals[nb.name] = (sum(g.score or 0.0 for g in nb.grades), sum(g.max_score for g in nb.grades))
    return totals
