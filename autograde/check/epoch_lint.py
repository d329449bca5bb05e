"""Experiments must train ``epochs(n)`` epochs, so that grading runs them short (``course.budget``).

A literal count (``fit(..., epochs=40)``, ``EPOCHS = 40`` then ``epochs=EPOCHS``, a training loop over
``range(40)``) trains the full 40 epochs under grading too: the notebook grades 3 times slower and nobody
notices. The rule reads code cells that are not test cells (tests may train a step or two on purpose):
``fit``/``sweep`` calls with a literal count or none (their default is 25), and ``for`` loops over a
literal ``range`` whose body takes training steps itself (calls ``backward`` or ``step``). A loop over seeds
around ``fit`` counts runs, not epochs: the ``fit`` call inside is what is checked.
"""
from __future__ import annotations

import ast

from nbformat import NotebookNode

from autograde.cells import is_test
from autograde.check.explain import label

TRAINERS = {"fit": 4, "sweep": 4}  # course functions -> the position of their epochs argument
TRAINING_CALLS = {"backward", "step"}  # a hand-written training step


def _name(call: ast.Call) -> str:
    """``fit`` for ``fit(...)`` and ``course.fit(...)``; "" for other calls (``model.fit`` is someone else's)."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "course":
        return func.attr
    return ""


def _constants(trees: list[ast.Module]) -> dict[str, int]:
    """Top-level names bound to an int literal anywhere in the notebook (``EPOCHS = 40``)."""
    found = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and _int(node.value) is not None:
                found.update({t.id: _int(node.value) for t in node.targets if isinstance(t, ast.Name)})
    return found


def _int(node: ast.AST | None) -> int | None:
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def _literal(node: ast.AST | None, constants: dict[str, int]) -> int | None:
    """The int a literal or a literal-bound name gives, else None (``epochs(40)``, a parameter...)."""
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return _int(node)


def _trainer_problem(call: ast.Call, constants: dict[str, int]) -> str:
    """What is wrong with one fit/sweep call's epoch count ("" when it is fine)."""
    name = _name(call)
    given = next((k.value for k in call.keywords if k.arg == "epochs"), None)
    if given is None and len(call.args) > TRAINERS[name]:
        given = call.args[TRAINERS[name]]
    if given is None:
        return f"calls {name}(...) without epochs=: it trains its default 25 epochs under grading too; " \
               f"pass epochs=epochs(25)"
    count = _literal(given, constants)
    return "" if count is None else f"calls {name}(..., epochs={ast.unparse(given)}), a literal count that grading " \
                                    f"runs in full; write epochs=epochs({count}) (2 epochs under grading)"


def _trains(node: ast.AST) -> bool:
    """Whether a statement takes a training step itself (``backward``/``step``), not inside an inner loop or def:
    ``for seed in range(5):`` around a training loop or a ``fit`` call counts runs, not epochs."""
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in TRAINING_CALLS:
        return True
    if isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.Lambda)):
        return False
    return any(_trains(child) for child in ast.iter_child_nodes(node))


def _loop_problem(loop: ast.For, constants: dict[str, int]) -> str:
    """A training loop over ``range(<literal>)``; "" for any other loop."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and len(it.args) == 1):
        return ""
    count = _literal(it.args[0], constants)
    if count is None or not any(_trains(statement) for statement in loop.body):
        return ""
    return f"trains in a loop over range({ast.unparse(it.args[0])}), a literal count that grading runs in full; " \
           f"write range(epochs({count}))"


def epoch_problems(nb: NotebookNode) -> list[str]:
    """Each literal (or missing) epoch count in a code cell that is not a test, with its cell and line."""
    parsed = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not is_test(cell):
            try:
                parsed.append((index, ast.parse(cell.source)))
            except SyntaxError:
                continue  # magics: nothing to read
    constants = _constants([tree for _, tree in parsed])
    problems = []
    for index, tree in parsed:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node) in TRAINERS:
                problem = _trainer_problem(node, constants)
            elif isinstance(node, ast.For):
                problem = _loop_problem(node, constants)
            else:
                continue
            if problem:
                problems.append(f"{label(nb, index)} line {node.lineno} {problem}")
    return problems
