"""Run real ``nbgrader autograde`` on a chapter: the reference solution, the student version, wrong answers.

Used by the chapter tests: each proves that its notebook's tests give the solution every point,
the blank student version none, and that plausible wrong answers lose their task's points.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograde.grading.nbgrader_adapter import read_schema_revision_in_process
from tests.support.paths import REPO


def run_nbgrader(command: list[str], cwd: Path, env: dict | None) -> None:
    """Run an nbgrader command line in ``cwd``; fail with its output when it fails."""
    # nbgrader calls `alembic` as a command: the environment's bin/ must lead PATH.
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full_env.get('PATH', '')}"
    result = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def source_notebook(assignment: str, root: Path = REPO) -> Path:
    """The one source notebook of an assignment folder."""
    notebooks = sorted((root / "notebooks" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"expected one notebook in notebooks/{assignment}, found {[n.name for n in notebooks]}")
    return notebooks[0]


def with_answers(notebook: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose cells with the given grade_ids have the given sources."""
    notebook = nbformat.from_dict(notebook)
    found = set()
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            found.add(grade_id)
    missing = set(answers) - found
    if missing:
        raise KeyError(f"no cells with grade_id {sorted(missing)} in the notebook")
    return notebook


def make_course(tmp_path: Path, assignment: str) -> tuple[Path, str]:
    """A course directory in ``tmp_path`` with this assignment generated; returns (course, notebook stem)."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "notebooks" / assignment, course / "notebooks" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    read_schema_revision_in_process()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}"):  # made here, nbgrader's process would run `alembic`
        pass
    run_nbgrader([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], course, None)
    return course, source_notebook(assignment, course).stem


def grade_submissions(tmp_path: Path, assignment: str, submissions: dict, env: dict | None = None) -> dict:
    """Autograde submissions; returns {student: {grade_id: (score, max_score)}} for autograded cells.

    Each submission is "solution" (the source notebook), "student" (the released version), or
    {answer grade_id: replacement source} applied to the solution.
    """
    course, stem = make_course(tmp_path, assignment)
    solution = nbformat.read(course / "notebooks" / assignment / f"{stem}.ipynb", as_version=4)
    for student, spec in submissions.items():
        target = course / "submitted" / student / assignment / f"{stem}.ipynb"
        target.parent.mkdir(parents=True)
        if spec == "solution":
            nbformat.write(solution, target)
        elif spec == "student":
            shutil.copy(course / "release" / assignment / f"{stem}.ipynb", target)
        else:
            nbformat.write(with_answers(solution, spec), target)
    run_nbgrader([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], course, env)
    return read_scores(course, assignment, stem, list(submissions))


def read_scores(course: Path, assignment: str, stem: str, students: list[str]) -> dict:
    """Autograded scores per student and grade_id from the course's gradebook."""
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            submission = gradebook.find_submission_notebook(stem, assignment, student)
            scores[student] = {grade.name: (grade.score, grade.max_score)
                               for grade in submission.grades if grade.cell_type == "code"}
    return scores
