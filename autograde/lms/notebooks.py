"""Which of an assignment's notebooks a handed-in file is: by its name, else by the nbgrader grade ids of its cells."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograde.cells import grade_id
from autograde.errors import CourseError


def assignment_cells(db_url: str, course_id: str, assignment: str) -> dict[str, set[str]]:
    """Notebook name -> the grade ids of its answer and graded cells, as ``course generate`` recorded them in the
    gradebook (not its locked cells: a setup cell of the same name is in many assignments)."""
    with Gradebook(db_url, course_id) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"course collect: assignment {assignment!r} is not in the gradebook; "
                             f"run `course generate {assignment}` first") from None
        return {nb.name: {cell.name for cell in [*nb.grade_cells, *nb.solution_cells]} for nb in found.notebooks}


def grade_ids(path: Path) -> set[str]:
    """The grade ids in a notebook file (empty when it is no readable notebook)."""
    try:
        return {grade_id(cell) for cell in nbformat.read(path, as_version=4).cells} - {""}
    except Exception:  # noqa: BLE001 - a broken or foreign file is simply not this assignment's
        return set()


def which_notebook(path: Path, expected: dict[str, set[str]]) -> str | None:
    """The notebook of the assignment ``path`` is: its own name, else the one whose answer and test ids it shares
    most, when it holds at least half of them (another assignment's notebook shares one or two at most)."""
    if Path(path).stem in expected:
        return Path(path).stem
    found = grade_ids(path)
    shared = {name: len(found & cells) for name, cells in expected.items()}
    best = max(shared, key=shared.get, default=None)
    return best if best is not None and shared[best] > 0 and 2 * shared[best] >= len(expected[best]) else None
