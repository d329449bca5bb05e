"""Start a new assignment from a scaffold (``course new ASSIGNMENT``).

The scaffold is a source notebook with one cell of each kind a chapter uses, each with the nbgrader
metadata nbgrader's "Create Assignment" toolbar would give it: the header with the points line, a locked
setup cell, a task's text, its answer cell (solution markers), its test cell (visible and hidden tests),
an experiment that trains with ``epochs(n)``, a written question and its answer cell (a rubric). Comments
say what to replace. It passes ``course check`` as written; docs/authoring.md explains every cell.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograde.atomic import write_text
from autograde.course_dir import course_directory, load_config
from autograde.errors import CourseError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a folder name nbgrader and a shell both take as it is

HEADER = """\
# {name}: a title

<!-- Replace the title and this introduction. Keep the points line below true: `course check` adds up the
points of the graded cells and fails when the line says otherwise. -->
What this assignment is about, in two or three sentences.

This notebook is worth **4 points**: 2 points for code that is graded automatically and 2 for written answers.
"""

SETUP = """\
# Setup: a locked cell (read-only for students). Replace the imports and data with what every later cell needs.
import torch
from torch import nn
from torch.utils.data import TensorDataset

from course import *

torch.manual_seed(0)
"""

TASK_TEXT = """\
### Task 1 (2 points): when to stop training

<!-- Replace with your task: what to write, and what the tests check. -->
Write `stop_epoch(losses, patience)`: the epoch (counted from 1) at which early stopping ends training,
the first epoch by which the validation loss has not gone below its best for `patience` epochs in a row;
`len(losses)` when that never happens.

*Checked:* the example below, ties (a loss equal to the best is no improvement), a run that never stops,
and an empty list.
"""

ANSWER = '''\
# The answer cell: students see the signature and the docstring; the code between the markers is
# replaced by a NotImplementedError stub in their version. Replace the function with yours.
def stop_epoch(losses: list, patience: int) -> int:
    """The epoch (from 1) when the validation loss has not improved for `patience` epochs; else len(losses)."""
    ### BEGIN SOLUTION
    best = float("inf")
    for epoch, loss in enumerate(losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch
    return len(losses)
    ### END SOLUTION
'''

TESTS = """\
# The test cell: locked, with the task's points. Visible tests first (students run them), then hidden
# tests, which students never see, not even on their feedback page. Replace both with tests of your task.
assert stop_epoch([3.0, 2.0, 2.5, 2.6, 2.7, 1.0], patience=3) == 5, stop_epoch([3.0, 2.0, 2.5, 2.6, 2.7, 1.0], patience=3)
### BEGIN HIDDEN TESTS
assert stop_epoch([1.0, 1.0, 1.0, 1.0], patience=2) == 3, "a loss equal to the best is no improvement"
assert stop_epoch([1.0, 2.0, 3.0, 4.0, 5.0], patience=2) == 3
assert stop_epoch([3.0, 2.0, 1.0], patience=1) == 3, "a run that keeps improving trains to the end"
assert stop_epoch([], patience=2) == 0
### END HIDDEN TESTS
"""

EXPERIMENT = """\
# An experiment: plain code, not graded. Replace the data and the network with yours (the chapters use
# fashion_mnist_split()). Keep epochs(n): students train n epochs, grading and CI train 2.
X = torch.randn(600, 2)
y = (X[:, 0] * X[:, 1] > 0).long()  # two classes: the two coordinates have the same sign, or not
train, validation = TensorDataset(X[:400], y[:400]), TensorDataset(X[400:], y[400:])
net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
history = fit(net, train, validation, optimizer, epochs=epochs(30), batch_size=32, progress=False)
print("early stopping would end training after epoch", stop_epoch(history["validation loss"], patience=3))
"""

QUESTION = """\
**Question 1 (2 points).** <!-- Replace with your question. --> Look at the validation loss of your run:
would early stopping with patience 3 have stopped it too early, at the right time, or too late? Why?
"""

RUBRIC = """\
### BEGIN SOLUTION
Rubric (2 points): <!-- Replace with your rubric: students see "YOUR ANSWER HERE" in its place. -->
- 1 point: reads the stopping epoch off the student's own curve and says whether the loss was still falling.
- 1 point: explains that patience trades training time for the risk of stopping on a noisy bump.
### END SOLUTION
"""


def _cell(kind: str, source: str, grade_id: str = "", *, grade: bool = False, solution: bool = False,
          locked: bool = False, points: float = 0) -> NotebookNode:
    """A markdown or code cell; with a grade_id, the nbgrader metadata of that cell kind (schema 3)."""
    cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                                     "solution": solution, "task": False, **({"points": points} if grade else {})}
    return cell


def scaffold_notebook(name: str) -> NotebookNode:
    """The scaffold: header, setup, task, answer, tests, experiment, question, rubric."""
    nb = nbformat.v4.new_notebook(cells=[
        _cell("markdown", HEADER.format(name=name)),
        _cell("code", SETUP, "setup", locked=True),
        _cell("markdown", TASK_TEXT),
        _cell("code", ANSWER, "stop_epoch", solution=True),
        _cell("code", TESTS, "test_stop_epoch", grade=True, locked=True, points=2),
        _cell("code", EXPERIMENT),
        _cell("markdown", QUESTION),
        _cell("markdown", RUBRIC, "q_early_stopping", grade=True, solution=True, points=2),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def new_assignment(root: Path, name: str) -> Path:
    """Write the scaffold to ``SOURCE/name/name.ipynb`` in course ``root``; refuses to overwrite anything."""
    if not NAME.fullmatch(name):
        raise CourseError(f"course new: {name!r} is not a usable assignment name; use letters, digits, '-', '_' "
                         "and '.', starting with a letter or digit (e.g. 10-early-stopping)")
    source = Path(root) / course_directory(root, config=load_config(root)).source_directory
    folder = source / name
    if folder.exists():
        raise CourseError(f"course new: {folder} already exists; pick another name, or delete that folder first")
    folder.mkdir(parents=True)
    path = folder / f"{name}.ipynb"
    return write_text(path, nbformat.writes(scaffold_notebook(name)) + "\n")  # as nbformat.write ends a file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="the new assignment's name, e.g. 10-early-stopping")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    path = new_assignment(course_root(args.course), args.assignment)
    print(f"wrote {path}\nnext: edit it (docs/authoring.md), then: course check {args.assignment}")
    return 0
