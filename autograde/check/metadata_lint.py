"""Lint a source notebook's nbgrader metadata, and find the tasks (answer cell + its tests) it holds.

Conventions the checks enforce (chapter authors follow them; docs/authoring.md explains them). Cells are
named as Jupyter shows them (:mod:`autograde.check.explain`):

- every graded cell has ``points`` > 0 and every nbgrader cell a unique ``grade_id``;
- every autograded answer cell (code, ``solution``, not ``grade``) is followed by at least one test cell
  (code, ``grade``, not ``solution``) before the next answer cell, and every test cell is ``locked``;
- every test cell checks something: an ``assert``, a ``raise`` or a call whose name contains "assert";
- points only on graded cells; ``### BEGIN/END SOLUTION`` in every code solution cell (students keep the
  lines outside them: the signature, the docstring) and only in solution cells; ``### BEGIN/END HIDDEN
  TESTS`` only in graded cells; every marker with its partner (nbgrader refuses the rest, or, for a code
  solution cell without markers, silently hands students a bare stub);
- experiments train ``epochs(n)`` epochs (:mod:`autograde.check.epoch_lint`);
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
from autograde.check.epoch_lint import epoch_problems
from autograde.check.explain import label
from autograde.check.mutate import BEGIN, END

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
    """Everything wrong with the notebook's nbgrader metadata, markers, test cells and epoch counts, one
    sentence each naming the cell as Jupyter shows it; [] if sound."""
    blocking = nbgrader_problems(nb)
    problems = list(blocking)
    for index, cell in enumerate(nb.cells):
        problems.extend(_test_problems(cell, label(nb, index)))
    if not blocking:  # order and points follow from sound metadata: with broken metadata they only repeat it
        problems.extend(_order_problems(nb))
        problems.extend(_points_problems(nb))
    return problems + epoch_problems(nb)


def nbgrader_problems(nb: NotebookNode) -> list[str]:
    """What makes nbgrader's generate step refuse the notebook (or silently mangle it), one line per cell with
    the fix; nbgrader's own validator is asked last, its message shortened, for anything the rules here miss."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    problems: list[str] = []
    seen: dict[str, str] = {}  # grade_id -> the first cell that has it
    for index, cell in enumerate(nb.cells):
        where = label(nb, index)
        problems.extend(_id_problems(cell, where, seen))
        problems.extend(_points_on_cell(cell, where))
        problems.extend(marker_problems(cell, where))
    if not problems:
        try:
            MetadataValidator().validate_nb(nb)
        except ValidationError as error:  # its message may end in the whole cell source: keep the first clause
            problems.append(f"nbgrader rejects the metadata: {str(error.message).splitlines()[0].split(': ')[0]}")
    return problems


def _id_problems(cell: NotebookNode, where: str, seen: dict[str, str]) -> list[str]:
    """An nbgrader cell has a grade_id, unique in the notebook."""
    meta = nbgrader_metadata(cell)
    if not (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
        return []
    name = grade_id(cell)
    if not name:
        return [f"{where} has nbgrader metadata but no grade_id; give it one that is unique in the notebook "
                "(e.g. test_<task> for a test cell)"]
    if name in seen:
        return [f"grade_id {name!r} is used by {seen[name]} and {where}; grade_ids must be unique"]
    seen[name] = where
    return []


def _points_on_cell(cell: NotebookNode, where: str) -> list[str]:
    """A graded cell has points > 0; a cell that is not graded has none (nbgrader would ignore them)."""
    meta = nbgrader_metadata(cell)
    given = meta.get("points")
    if meta.get("grade") and not (isinstance(given, (int, float)) and given > 0):
        return [f"graded cell {where} has points={given!r}; give it points > 0"]
    if not meta.get("grade") and given and "### BEGIN HIDDEN TESTS" not in cell.source:  # else: marker_problems
        return [f"{where} has points: {given} but is not graded (grade: false), so nbgrader ignores them; "
                "make it a graded cell (grade: true: a test cell, or a written answer) or remove the points"]
    return []


def _markers(source: str, begin: str, end: str) -> list[str]:
    """The begin/end marker lines of one kind in a cell, in order ("begin"/"end")."""
    return ["begin" if begin in line else "end" for line in source.splitlines() if begin in line or end in line]


def _balanced(marks: list[str]) -> bool:
    """begin, end, begin, end...: each region closed before the next opens."""
    return len(marks) % 2 == 0 and marks == ["begin", "end"] * (len(marks) // 2)


def marker_problems(cell: NotebookNode, where: str) -> list[str]:
    """Solution markers in code solution cells only, around the lines students write; hidden-test markers in
    graded cells only; every begin with its end."""
    solution = _markers(cell.source, f"### {BEGIN}", f"### {END}")
    hidden = _markers(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    meta = nbgrader_metadata(cell)
    problems = []
    if solution and not meta.get("solution"):
        problems.append(f"{where} has ### BEGIN SOLUTION markers but is not a solution cell; nbgrader refuses it: "
                        "make it an answer cell (solution: true) or remove the markers")
    elif cell.cell_type == "code" and meta.get("solution") and not solution:
        problems.append(f"solution cell {where} has no ### BEGIN SOLUTION / ### END SOLUTION markers, so students "
                        "get a bare stub without its signature and docstring; put the markers around the lines "
                        "they should write")
    if solution and not _balanced(solution):
        problems.append(f"{where} has unbalanced solution markers ({', '.join(solution)}); write each "
                        "### BEGIN SOLUTION with its ### END SOLUTION after it")
    if hidden and not meta.get("grade"):
        problems.append(f"{where} has ### BEGIN HIDDEN TESTS but is not graded; nbgrader refuses it ('Hidden test "
                        "region detected in a non-grade cell'): set grade: true and points, or remove the markers")
    if hidden and not _balanced(hidden):
        problems.append(f"{where} has unbalanced hidden-test markers ({', '.join(hidden)}); write each "
                        "### BEGIN HIDDEN TESTS with its ### END HIDDEN TESTS after it")
    return problems


def _test_problems(cell: NotebookNode, where: str) -> list[str]:
    """A test cell is locked and asserts something."""
    if not is_test(cell):
        return []
    problems = []
    if not nbgrader_metadata(cell).get("locked"):
        problems.append(f"test cell {where} is not locked; set locked: true so students cannot edit it")
    if not asserts_something(cell.source):
        problems.append(f"test cell {where} asserts nothing (no assert, raise or assert_* call): "
                        "it passes whatever the answer is")
    elif shows_a_value(cell.source):
        problems.append(f"test cell {where} ends in an expression whose value Jupyter shows, and nbgrader takes "
                        "a number shown there as the cell's points (partial credit); end it with an assert, or "
                        "put `;` after the expression")
    return problems


def shows_a_value(source: str) -> bool:
    """Whether the cell's last statement is an expression Jupyter shows (not print, display or an assert_* call,
    not ending in ``;``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or source.rstrip().endswith(";"):
        return False
    called = last.value.func if isinstance(last.value, ast.Call) else None
    name = getattr(called, "id", getattr(called, "attr", ""))
    quiet = name in ("print", "display") or "assert" in name.lower()  # they show nothing (assert_* returns None)
    return not quiet and not (isinstance(last.value, ast.Constant) and last.value.value is None)


def _order_problems(nb: NotebookNode) -> list[str]:
    """Every answer cell is followed by a test cell, and no test cell comes before the first answer."""
    problems = [f"answer cell {label(nb, task.answer_index)} is not followed by a test cell before the next answer cell"
                for task in tasks(nb) if not task.test_indices]
    first_answer = next((i for i, c in enumerate(nb.cells) if is_answer(c)), None)
    problems.extend(f"test cell {label(nb, index)} comes before any answer cell" for index, cell in enumerate(nb.cells)
                    if is_test(cell) and (first_answer is None or index < first_answer))
    return problems


def _points_problems(nb: NotebookNode) -> list[str]:
    """The total (and automatic part) the first markdown cell states must match the graded cells' points."""
    graded = [i for i, c in enumerate(nb.cells) if nbgrader_metadata(c).get("grade")]
    total = sum(points(nb.cells[i]) for i in graded)
    automatic = sum(points(nb.cells[i]) for i in graded if is_test(nb.cells[i]))
    stated_total, stated_automatic = stated_points(nb)
    cells = ", ".join(f"{label(nb, i)} {points(nb.cells[i]):g}" for i in graded) or "none"
    problems = []
    if stated_total is None:
        problems.append(f"the first markdown cell does not state the total; write e.g. "
                        f"'This notebook is worth **{total:g} points**' ({automatic:g} autograded)")
    elif stated_total != total:
        problems.append(f"the first markdown cell states {stated_total:g} points but the graded cells add up to "
                        f"{total:g} ({cells}); correct the line or the cells' points")
    if stated_automatic is not None and stated_automatic != automatic:
        problems.append(f"the first markdown cell states {stated_automatic:g} automatically graded points "
                        f"but the test cells add up to {automatic:g}")
    return problems
