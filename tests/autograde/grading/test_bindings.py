"""Which names a notebook's tests rely on, read from the code (quick: source text only, no kernels)."""
from __future__ import annotations

import nbformat
import pytest

from autograde.grading.bindings import bound_names, guarded_names, imports, used_names


@pytest.mark.parametrize("source, expected", [
    ("assert square(3) == 9", {"square"}),
    ("x = np.mean(a) + len(b)", {"np", "a", "len", "b"}),
    ("%timeit f(x)\n!ls\ny = g(z)", {"g", "z"}),  # magics and shell lines are not Python
    ("def f(:\n  pass", set()),  # a syntax error reads nothing
    ("for i in range(3):\n    total += i", {"range", "i"}),  # an augmented assignment stores
])
def test_used_names(source, expected):
    assert used_names(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("x = 1\ny, z = 2, 3", {"x", "y", "z"}),
    ("def fit(): pass\nasync def go(): pass\nclass Net: pass", {"fit", "go", "Net"}),
    ("import os.path\nimport numpy as np\nfrom torch import nn as n, optim\nfrom math import *", {"os", "np", "n", "optim"}),
    ("for i in range(3): pass\nwith open(f) as handle: pass", {"i", "handle"}),
    ("print(x)", set()),
    ("x = = 1", set()),
])
def test_bound_names(source, expected):
    assert bound_names(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("import torch", ({"torch": ("module", "torch")}, [])),
    ("import os.path", ({"os": ("module", "os")}, [])),
    ("import numpy.linalg as la", ({"la": ("module", "numpy.linalg")}, [])),
    ("from torch import nn, optim as o", ({"nn": ("from", "torch", "nn"), "o": ("from", "torch", "optim")}, [])),
    ("from course import *\nfrom math import *", ({}, ["course", "math"])),
    ("from . import helpers", ({}, [])),  # relative imports name nothing a test could trust
    ("import (", ({}, [])),
])
def test_imports(source, expected):
    assert imports(source) == expected


def cell(source: str, *, grade: bool = False, solution: bool = False) -> nbformat.NotebookNode:
    new = nbformat.v4.new_code_cell(source)
    new.metadata["nbgrader"] = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": f"c{id(new)}"}
    return new


SETUP = cell("import numpy as np\nfrom torch import nn\nfrom course import *\nDATA = [1, 2]")
ANSWER = cell("def square(x):\n    return x * x\nimport fake as np", solution=True)


@pytest.mark.parametrize("test_source, answer_names, expected", [
    ("assert square(3) == 9", frozenset({"square"}), {}),
    ("assert np.allclose(square(2), 4)", frozenset({"square"}), {"np": ("module", "numpy")}),
    ("assert isinstance(nn.Linear(1, 1), nn.Module)", frozenset(), {"isinstance": ("loose", ["course"]), "nn": ("from", "torch", "nn")}),
    ("assert len(DATA) == 2", frozenset(), {"len": ("loose", ["course"])}),  # DATA is the setup's own variable
    ("assert fit(net) is not None", frozenset(), {"fit": ("loose", ["course"]), "net": ("loose", ["course"])}),
    ("assert square(3) == 9", frozenset(), {"square": ("loose", ["course"])}),
])
def test_guarded_names(test_source, answer_names, expected):
    nb = nbformat.v4.new_notebook(cells=[SETUP, ANSWER, cell(test_source, grade=True)])
    assert guarded_names(nb, answer_names) == expected


def test_without_a_star_import_only_builtins_are_loose():
    nb = nbformat.v4.new_notebook(cells=[cell("import numpy as np"), cell("x = 1", solution=True),
                                         cell("assert len(x) == mystery(np)", grade=True)])
    assert guarded_names(nb) == {"len": ("loose", []), "np": ("module", "numpy")}
