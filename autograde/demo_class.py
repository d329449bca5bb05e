"""A made-up class of submissions built from an assignment's source and released notebooks.

Used by ``course demo`` and the tests: reference solutions, untouched student versions, partly right
answers, the broken kinds a grader must survive (syntax error, exception, endless loop, kernel
crash, unreadable file), and a pair who shared answers (one student's own variant, and a copy of it
with renamed variables, new comments and new layout). Every kind is a real notebook in nbgrader's
``submitted/`` layout.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograde.cells import grade_id, is_solution
from autograde.errors import CourseError


def _written_code(nb: NotebookNode) -> list[NotebookNode]:
    """The code cells a student writes in (nbgrader solution cells, autograded or not), in order."""
    return [c for c in nb.cells if c.cell_type == "code" and is_solution(c)]


def _first_answer(nb: NotebookNode, prefix: str) -> NotebookNode:
    """``nb`` with ``prefix`` put before the code of its first solution cell."""
    cells = _written_code(nb)
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
    solutions = {grade_id(c): c.source for c in _written_code(source)}
    for cell in _written_code(nb)[::2]:
        cell.source = solutions.get(grade_id(cell), cell.source)
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


# What the "own-variant" student adds to every answer: their own check, code no other student writes.
OWN_CHECK = '''

def check_finite(result, label="result"):
    """My own check: stop when a result holds NaN or infinite numbers."""
    parts = result if isinstance(result, (list, tuple)) else [result]
    for position, part in enumerate(parts):
        is_finite = getattr(part, "isfinite", None)
        if is_finite is not None and not bool(is_finite().all()):
            raise ValueError(f"{label}[{position}] holds NaN or infinite numbers")
    return result
'''


def own_variant(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The solution with the student's own extra check in every answer (code only this student writes)."""
    nb = nbformat.from_dict(source)
    for cell in _written_code(nb):
        cell.source = cell.source.rstrip() + "\n" + OWN_CHECK
    return nb


class _RenameLocals(ast.NodeTransformer):
    """Renames the variables each function assigns (never its parameters: tests may pass them by keyword)."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        declared = {name for n in ast.walk(node) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
        parameters = {a.arg for n in ast.walk(node) if isinstance(n, ast.arguments)
                      for a in (*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg) if a}
        assigned = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        renames = {name: f"my_{name}" for name in assigned - declared - parameters}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in renames:
                n.id = renames[n.id]
        return node


def disguise(code: str) -> str:
    """``code`` as a copier hands it in: local variables renamed, comments replaced, layout redone."""
    tree = _RenameLocals().visit(ast.parse(code))
    parts = [f"# {'my version of ' + node.name if isinstance(node, ast.FunctionDef) else 'my step'}\n"
             f"{ast.unparse(node)}" for node in tree.body]
    return "\n\n\n".join(parts) + "\n"


def copied_variant(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The "own-variant" answers copied by another student, who disguised them (see ``disguise``)."""
    nb = own_variant(source, release)
    for cell in _written_code(nb):
        cell.source = disguise(cell.source)
    return nb


KINDS: dict[str, Callable[[NotebookNode, NotebookNode], NotebookNode]] = {
    "reference": reference, "untouched": untouched, "partly-right": partly_right,
    "syntax-error": syntax_error, "exception": exception, "endless-loop": endless_loop,
    "kernel-crash": kernel_crash, "own-variant": own_variant, "copied-variant": copied_variant,
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
        raise CourseError(f"no source notebooks in {course / source_dir / assignment}")
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
