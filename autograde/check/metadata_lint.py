"""Lint a source notebook's nbgrader metadata, and find the tasks (answer cell + its tests) it holds.

Conventions the checks enforce (chapter authors follow them):

- every graded cell has ``points`` > 0 and every nbgrader cell a unique ``grade_id``;
- every autograded answer cell (code, ``solution``, not ``grade``) is followed by at least one test cell
  (code, ``grade``, not ``solution``) before the next answer cell, and every test cell is ``locked``;
- every test cell checks something: an ``assert``, a ``raise`` or a call whose name contains "assert";
- the first markdown cell states the notebook's total, all graded cells together, as "N points"
  (e.g. "This notebook is worth **20 points**", "Total: 20 points") or "**Points:** N in total"; if it also
  states the automatically graded part ("16 points for code that is graded automatically",
  "(16 checked automatically", "16 autograded"), that must equal the test cells' points too.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from nbformat import NotebookNode

from autograde.cells import grade_id, is_answer, is_test, nbgrader_metadata, points

TOTAL = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\*\*|__)?\s*(?:points?\b|in total\b)", re.IGNORECASE)
AUTOMATIC = re.compile(r"(\d+(?:\.\d+)?)\s*(?:points?\s+)?(?:for code that is graded automatically|for code graded "
                       r"automatically|checked automatically|graded automatically|autograded)", re.IGNORECASE)


@dataclass
class Task:
    """One answer cell and the test cells that grade it (indices into the notebook's cells)."""

    answer_id: str
    answer_index: int
    test_indices: list[int] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)
    points: float = 0.0

    @property
    def replay_indices(self) -> list[int]:
        """The cells to run again after a changed answer: the answer, any cells between, the tests."""
        last = self.test_indices[-1] if self.test_indices else self.answer_index
        return list(range(self.answer_index, last + 1))

    def __repr__(self) -> str:
        return f"Task({self.answer_id} -> {self.test_ids}, {self.points:g} points)"


def tasks(nb: NotebookNode) -> list[Task]:
    """Each autograded answer cell with the test cells after it (up to the next answer cell)."""
    found: list[Task] = []
    for index, cell in enumerate(nb.cells):
        if is_answer(cell):
            found.append(Task(grade_id(cell, index), index))
        elif is_test(cell) and found:
            task = found[-1]
            task.test_indices.append(index)
            task.test_ids.append(grade_id(cell, index))
            task.points += points(cell)
    return found


def asserts_something(source: str) -> bool:
    """Whether a test cell can fail by itself: an assert, a raise, or a call named like ``assert...``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True  # magics: give the benefit of the doubt; the mutants still tell
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assert, ast.Raise)):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if "assert" in name.lower():
                return True
    return False


def stated_points(nb: NotebookNode) -> tuple[float | None, float | None]:
    """(total, automatic part) as the first markdown cell states them; None where it states nothing."""
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is None:
        return None, None
    text = first.source
    total = TOTAL.search(text)
    automatic = AUTOMATIC.search(text)
    return (float(total.group(1)) if total else None, float(automatic.group(1)) if automatic else None)


def metadata_problems(nb: NotebookNode) -> list[str]:
    """Everything wrong with the notebook's nbgrader metadata and test cells, one sentence each; [] if sound."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    problems = []
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as error:
        problems.append(f"nbgrader rejects the metadata: {error}")
    seen: dict[str, int] = {}  # grade_id -> the first cell that has it
    for index, cell in enumerate(nb.cells):
        problems.extend(_cell_problems(cell, index, seen))
    problems.extend(_order_problems(nb))
    problems.extend(_points_problems(nb))
    return problems


def _cell_problems(cell: NotebookNode, index: int, seen: dict[str, int]) -> list[str]:
    """One nbgrader cell: its grade_id (present, unique), its points, and for a test cell its lock and assert."""
    meta = nbgrader_metadata(cell)
    if not (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
        return []
    problems = []
    name = grade_id(cell)
    if not name:
        problems.append(f"cell {index} has nbgrader metadata but no grade_id")
    elif name in seen:
        problems.append(f"grade_id {name!r} is used by cells {seen[name]} and {index}; grade_ids must be unique")
    else:
        seen[name] = index
    if meta.get("grade") and not (isinstance(meta.get("points"), (int, float)) and meta["points"] > 0):
        problems.append(f"graded cell {name or index!r} has points={meta.get('points')!r}; give it points > 0")
    if is_test(cell) and not meta.get("locked"):
        problems.append(f"test cell {name!r} is not locked; set locked: true so students cannot edit it")
    if is_test(cell) and not asserts_something(cell.source):
        problems.append(f"test cell {name!r} asserts nothing (no assert, raise or assert_* call): "
                        "it passes whatever the answer is")
    return problems


def _order_problems(nb: NotebookNode) -> list[str]:
    """Every answer cell is followed by a test cell, and no test cell comes before the first answer."""
    problems = [f"answer cell {task.answer_id!r} is not followed by a test cell before the next answer cell"
                for task in tasks(nb) if not task.test_indices]
    first_answer = next((i for i, c in enumerate(nb.cells) if is_answer(c)), None)
    problems.extend(f"test cell {grade_id(cell)!r} comes before any answer cell" for index, cell in enumerate(nb.cells)
                    if is_test(cell) and (first_answer is None or index < first_answer))
    return problems


def _points_problems(nb: NotebookNode) -> list[str]:
    """The total (and automatic part) the first markdown cell states must match the graded cells' points."""
    graded = [c for c in nb.cells if nbgrader_metadata(c).get("grade")]
    total = sum(points(c) for c in graded)
    automatic = sum(points(c) for c in graded if is_test(c))
    stated_total, stated_automatic = stated_points(nb)
    problems = []
    if stated_total is None:
        problems.append(f"the first markdown cell does not state the total; write e.g. "
                        f"'This notebook is worth **{total:g} points**' ({automatic:g} autograded)")
    elif stated_total != total:
        problems.append(f"the first markdown cell states {stated_total:g} points but the graded cells add up to {total:g}")
    if stated_automatic is not None and stated_automatic != automatic:
        problems.append(f"the first markdown cell states {stated_automatic:g} automatically graded points "
                        f"but the test cells add up to {automatic:g}")
    return problems
