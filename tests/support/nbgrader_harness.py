"""Run real nbgrader on a chapter (``generate_assignment`` and ``autograde``, through the ``NbGraderAPI`` the
formgrader's buttons call): the reference solution, the student version, wrong answers.

Used by the chapter tests: each proves that its notebook's tests give the solution every point,
the blank student version none, and that plausible wrong answers lose their task's points.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from unittest import mock

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from autograde.course_dir import course_directory, in_course, load_config
from autograde.generate import generate
from tests.support.paths import REPO


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
    generate(course, [assignment])  # `course generate`: nbgrader's own step, in this process
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
    # nbgrader's API (what the formgrader's buttons call) in this process, with ``env`` added as the command
    # line would see it: no new Python that imports nbgrader and starts a zygote of its own (about 9 s a chapter).
    config = load_config(course)
    api = NbGraderAPI(coursedir=course_directory(course, config=config), config=config)
    with mock.patch.dict(os.environ, env or {}), in_course(course):
        for student in submissions:
            result = api.autograde(assignment, student, force=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader autograde {assignment} failed for {student}:\n"
                                   f"{result.get('log', '')}\n{result.get('error', '')}")
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
