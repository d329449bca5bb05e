"""Small assignments for the authoring tests: the ``course new`` scaffold, and each mistake new authors make
planted in it (issue 27), written into a throw-away course."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograde.scaffold import scaffold_notebook

CONFIG = '''"""A made-up course for the authoring tests."""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "made-up"
c.CourseDirectory.source_directory = "notebooks"
c.Execute.timeout = 60
'''


def cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    """The cell with this grade_id."""
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _no_assert(nb: NotebookNode) -> None:
    cell(nb, "test_stop_epoch").source = "print(stop_epoch([3.0, 2.0, 2.5, 2.6, 2.7, 1.0], patience=3))  # looks right\n"


def _points_line(nb: NotebookNode) -> None:
    nb.cells[0].source = nb.cells[0].source.replace("**4 points**", "**5 points**")


def _no_grade_id(nb: NotebookNode) -> None:
    del cell(nb, "test_stop_epoch").metadata.nbgrader["grade_id"]


def _no_markers(nb: NotebookNode) -> None:
    answer = cell(nb, "stop_epoch")
    answer.source = "\n".join(line for line in answer.source.splitlines() if "SOLUTION" not in line)


def _points_not_graded(nb: NotebookNode) -> None:
    cell(nb, "stop_epoch").metadata.nbgrader["points"] = 3


def _literal_epochs(nb: NotebookNode) -> None:
    experiment = next(c for c in nb.cells if "fit(" in c.source)
    experiment.source = experiment.source.replace("epochs=epochs(30)", "epochs=40")


def _failing_solution(nb: NotebookNode) -> None:
    answer = cell(nb, "stop_epoch")
    answer.source = answer.source.replace(">= patience", "> patience")
    tests = cell(nb, "test_stop_epoch")  # as in the issue: a visible assert without a message
    tests.source = tests.source.replace(", stop_epoch([3.0, 2.0, 2.5, 2.6, 2.7, 1.0], patience=3)\n", "\n", 1)


def _test_not_graded(nb: NotebookNode) -> None:
    cell(nb, "test_stop_epoch").metadata.nbgrader["grade"] = False


# name -> how to plant it in the scaffold
MISTAKES: dict[str, Callable[[NotebookNode], None]] = {
    "no-assert": _no_assert, "points-line": _points_line, "no-grade-id": _no_grade_id, "no-markers": _no_markers,
    "points-not-graded": _points_not_graded, "literal-epochs": _literal_epochs,
    "failing-solution": _failing_solution, "test-not-graded": _test_not_graded,
}


# mistake -> the one line the lint gives for it (the part that must be there)
LINT_LINES = {
    "no-assert": "test cell test_stop_epoch (In [3]) asserts nothing",
    "points-line": "the first markdown cell states 5 points but the graded cells add up to 4 "
                   "(test_stop_epoch (In [3]) 2, q_early_stopping (markdown cell 4) 2)",
    "no-grade-id": "In [3] has nbgrader metadata but no grade_id",
    "no-markers": "solution cell stop_epoch (In [2]) has no ### BEGIN SOLUTION / ### END SOLUTION markers",
    "points-not-graded": "stop_epoch (In [2]) has points: 3 but is not graded (grade: false)",
    "literal-epochs": "In [4] line 8 calls fit(..., epochs=40), a literal count that grading runs in full; "
                      "write epochs=epochs(40)",
    "test-not-graded": "test_stop_epoch (In [3]) has ### BEGIN HIDDEN TESTS but is not graded",
}
# mistake -> the one line `course check` prints for it
CHECK_LINES = {**LINT_LINES, "failing-solution": "the solution fails test_stop_epoch (In [3]) of task stop_epoch: "
               "line 3: `assert stop_epoch([3.0, 2.0, 2.5, 2.6, 2.7, 1.0], patience=3) == 5` -> AssertionError (no message)"}


def planted(mistake: str, name: str = "") -> NotebookNode:
    """The scaffold of assignment ``name`` (default: the mistake's name) with one mistake planted."""
    nb = scaffold_notebook(name or mistake)
    MISTAKES[mistake](nb)
    return nb


def write_course(root: Path, notebooks: dict[str, NotebookNode] | None = None) -> Path:
    """A course folder with ``nbgrader_config.py`` and one source assignment per notebook given."""
    root = Path(root)
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    for assignment, nb in (notebooks or {}).items():
        (root / "notebooks" / assignment).mkdir()
        nbformat.write(nb, root / "notebooks" / assignment / f"{assignment}.ipynb")
    return root
