"""A made-up class of submissions built from an assignment's source and released notebooks.

Used by ``course demo`` and the tests: reference solutions, untouched student versions, partly right
answers, and the broken kinds a grader must survive (syntax error, exception, endless loop, kernel
crash, unreadable file). Every kind is a real notebook in nbgrader's ``submitted/`` layout.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import nbformat
from nbformat import NotebookNode


def _answer_cells(nb: NotebookNode) -> list[NotebookNode]:
    """Code cells where a student writes (nbgrader solution cells), in order."""
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def _first_answer(nb: NotebookNode, prefix: str) -> NotebookNode:
    cells = _answer_cells(nb)
    if not cells:
        raise ValueError("the notebook has no answer (solution) cells to change")
    cells[0].source = prefix + cells[0].source
    return nb


def reference(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The instructor's solution, submitted as is."""
    return nbformat.from_dict(source)


def untouched(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The student version, handed in without answers."""
    return nbformat.from_dict(release)


def partly_right(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """Every other answer filled in from the solution, the rest left as released."""
    nb = nbformat.from_dict(release)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _answer_cells(source)}
    for cell in _answer_cells(nb)[::2]:
        cell.source = solutions.get(cell.metadata["nbgrader"]["grade_id"], cell.source)
    return nb


def syntax_error(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The solution with a syntax error in its first answer."""
    return _first_answer(nbformat.from_dict(source), "def broken(:\n    pass\n")


def exception(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The solution whose first answer raises."""
    return _first_answer(nbformat.from_dict(source), "raise RuntimeError('the student gave up here')\n")


def endless_loop(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The solution whose first answer never finishes."""
    return _first_answer(nbformat.from_dict(source), "while True:\n    pass\n")


def kernel_crash(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The solution whose first answer kills the kernel process."""
    return _first_answer(nbformat.from_dict(source), "import os\nos._exit(1)\n")


KINDS: dict[str, Callable[[NotebookNode, NotebookNode], NotebookNode]] = {
    "reference": reference, "untouched": untouched, "partly-right": partly_right,
    "syntax-error": syntax_error, "exception": exception, "endless-loop": endless_loop,
    "kernel-crash": kernel_crash,
}


def write_submission(course: Path, assignment: str, student: str, notebooks: dict[str, NotebookNode | str]) -> Path:
    """Put notebooks (NotebookNode, or raw text for unreadable ones) in ``submitted/<student>/<assignment>/``."""
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        target = folder / f"{name}.ipynb"
        if isinstance(nb, str):
            target.write_text(nb)
        else:
            nbformat.write(nb, target)
    return folder


def make_class(course: Path, assignment: str, kinds: list[str], source_dir: str = "notebooks",
               release_dir: str = "release") -> dict[str, str]:
    """One student per kind (``student-01-reference``...), for every notebook of the assignment; returns student -> kind."""
    course = Path(course)
    sources = sorted((course / source_dir / assignment).glob("*.ipynb"))
    if not sources:
        raise SystemExit(f"no source notebooks in {course / source_dir / assignment}")
    students = {}
    for number, kind in enumerate(kinds, 1):
        if kind not in KINDS:
            raise ValueError(f"unknown submission kind {kind!r}; known: {sorted(KINDS)}")
        student = f"student-{number:02d}-{kind}"
        notebooks = {}
        for path in sources:
            source = nbformat.read(path, as_version=4)
            release = nbformat.read(course / release_dir / assignment / path.name, as_version=4)
            notebooks[path.stem] = KINDS[kind](source, release)
        write_submission(course, assignment, student, notebooks)
        students[student] = kind
    return students
