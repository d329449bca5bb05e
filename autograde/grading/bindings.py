"""Which names a notebook's tests rely on, and what each must be bound to (read from the code, not run).

A student's answer cell runs in the same namespace as the tests, so ``torch = FakeTorch()``,
``np = ...``, ``fit = lambda *a: ...`` or ``len = ...`` can make wrong answers pass. The tamper
checks (``autograde.grading.tamper``) compare these names in the kernel with what they were bound to before
any student code ran.
"""
from __future__ import annotations

import ast
import builtins

from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_solution


def _parse(source: str) -> ast.Module | None:
    """The cell's code; IPython magics and shell lines are left out; None if it does not parse."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def used_names(source: str) -> set[str]:
    """Global names the code reads."""
    tree = _parse(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} if tree else set()


def bound_names(source: str) -> set[str]:
    """Names the code binds at the top level (assignments, definitions, imports)."""
    tree = _parse(source)
    names: set[str] = set()
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
    return names


def imports(source: str) -> tuple[dict[str, tuple], list[str]]:
    """What the code's imports bind: name -> ("module", dotted) or ("from", module, attribute); star modules."""
    tree = _parse(source)
    found: dict[str, tuple] = {}
    stars: list[str] = []
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = ("module", alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    stars.append(node.module)
                else:
                    found[alias.asname or alias.name] = ("from", node.module, alias.name)
    return found, stars


def guarded_names(nb: NotebookNode, answer_names: frozenset[str] = frozenset()) -> dict[str, tuple]:
    """The names ``nb``'s test cells use that the notebook's own cells import, that a star import
    provides, or that are builtins: name -> ("module", m) | ("from", m, attr) | ("loose", [star modules]).

    Answer cells are the student's: what they bind is never trusted, and the names the tasks ask the
    student to define (``answer_names``) are not guarded."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    tests = [c for c in code if is_grade(c) and not is_solution(c)]
    given = [c for c in code if not is_solution(c)]
    used = set().union(*(used_names(c.source) for c in tests)) - answer_names
    imported: dict[str, tuple] = {}
    stars: list[str] = []
    assigned: set[str] = set()
    for cell in given:
        found, star = imports(cell.source)
        imported.update(found)
        stars += star
        assigned |= bound_names(cell.source) - set(found)
    guard = {name: imported[name] for name in used if name in imported}
    for name in sorted(used - set(imported) - assigned):
        if stars or hasattr(builtins, name):
            guard[name] = ("loose", stars)
    return dict(sorted(guard.items()))
