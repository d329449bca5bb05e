"""The vocabulary of notebook cells, in one place: what a cell is for (nbgrader's metadata) and what it showed.

nbgrader's cell kinds, as its "Create Assignment" toolbar names them: a student writes in a *solution*
cell; an *answer* here is an autograded answer (solution code without points of its own), which the
*test* cells after it grade (code with points that is not a solution). Cells that never ran carry an
error output named NOT_RUN, so nbgrader scores them 0 instead of passing an empty test.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_solution

NOT_RUN = "NotRunError"  # ename of the error output put into code cells that never ran
KERNEL_FILE = re.compile(r"\(\d+\.py, line (\d+)\)")  # where IPython says a SyntaxError is
TIMED_OUT = "CellTimeoutError"  # nbclient's ename for a cell stopped by the per-cell time limit

__all__ = ["NOT_RUN", "TIMED_OUT", "CellError", "is_solution", "is_answer", "is_test", "grade_id", "points",
           "first_error", "has_error", "position", "cell_name", "errors_summary", "error_output", "mark_not_run", "is_not_run"]


def nbgrader_metadata(cell: NotebookNode) -> dict:
    """The cell's ``metadata.nbgrader`` (empty for a cell nbgrader does not know)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_answer(cell: NotebookNode) -> bool:
    """An autograded answer: code the student writes, with no points of its own, checked by test cells."""
    return cell.cell_type == "code" and is_solution(cell) and not is_grade(cell)


def is_test(cell: NotebookNode) -> bool:
    """An autograder test cell: code with points that passes or fails, not written by the student."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def grade_id(cell: NotebookNode, index: int | None = None) -> str:
    """The cell's nbgrader ``grade_id``; without one, "cell INDEX" when ``index`` is given, else ""."""
    found = nbgrader_metadata(cell).get("grade_id")
    return str(found) if found else (f"cell {index}" if index is not None else "")


def points(cell: NotebookNode) -> float:
    """The points nbgrader's metadata gives the cell (0 for a cell without)."""
    return float(nbgrader_metadata(cell).get("points") or 0)


@dataclass(frozen=True)
class CellError:
    """A cell's first error output: its name, the first line of its value, and the whole traceback text."""

    ename: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return f"{self.ename}: {self.message}".strip()


def first_error(cell: NotebookNode) -> CellError | None:
    """The cell's first error output, or None when it raised nothing."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            lines = str(output.get("evalue", "")).strip().splitlines()
            # IPython names a cell's code by a temporary file ("(2536332178.py, line 1)"): say the line alone.
            message = KERNEL_FILE.sub(r"(line \1)", lines[0]) if lines else ""
            return CellError(str(output.get("ename", "")), message,
                             "\n".join(output.get("traceback", [])))
    return None


def has_error(cell: NotebookNode) -> bool:
    """Whether a code cell has an error output (raised, timed out, or never ran)."""
    return cell.cell_type == "code" and first_error(cell) is not None


def position(cells: list[NotebookNode], index: int) -> str:
    """Where Jupyter shows cell ``index``: "In [k]" for the k-th code cell (as after Restart and Run All),
    "markdown cell k" for the k-th markdown cell (k from 1; never a 0-based index)."""
    kind = cells[index].cell_type
    k = sum(cell.cell_type == kind for cell in cells[:index + 1])
    return f"In [{k}]" if kind == "code" else f"{kind} cell {k}"


def cell_name(cells: list[NotebookNode], index: int) -> str:
    """How a person finds cell ``index``: its grade_id, else its position under the heading above it."""
    found = grade_id(cells[index])
    if found:
        return found
    for cell in reversed(cells[:index]):
        headings = re.findall(r"^#+\s*(.+?)\s*#*$", cell.source, re.MULTILINE) if cell.cell_type == "markdown" else []
        if headings:
            return f'{position(cells, index)}, under "{headings[-1]}"'
    return position(cells, index)


def errors_summary(cells: list[NotebookNode]) -> str:
    """What the cells with errors say, apart: "could not run: ..." for answers and other cells that raised,
    "wrong answer: ..." for failed tests, each naming cells by grade_id or heading; "" when none raised."""
    failing = [index for index, cell in enumerate(cells) if has_error(cell)]
    broken = [index for index in failing if not is_test(cells[index])]
    tests = [index for index in failing if is_test(cells[index])]
    parts = []
    if broken:
        parts.append(f"could not run: {len(broken)} cell(s) raised; first: {first_error(cells[broken[0]])} "
                     f"(in {cell_name(cells, broken[0])})")
    if tests:
        parts.append(f"wrong answer: {len(tests)} test(s) failed ({', '.join(cell_name(cells, i) for i in tests)}); "
                     f"first: {first_error(cells[tests[0]])}")
    return "; ".join(parts)


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An nbformat error output, as a kernel would send it."""
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def mark_not_run(cells: list[NotebookNode], why: str) -> None:
    """Give code cells that never ran a NOT_RUN error output, so they score 0 rather than pass."""
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = [error_output(NOT_RUN, f"not run: {why}")]
            cell.execution_count = None


def is_not_run(cell: NotebookNode) -> bool:
    """Whether the cell carries the NOT_RUN marker (it never ran)."""
    error = first_error(cell)
    return error is not None and error.ename == NOT_RUN
